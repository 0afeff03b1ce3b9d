"""Safe, fast parsing of whole IPS SOAP responses into ActiveJob and JobLog values.

Owns the one hardened lxml parser and the local-name dispatch that turns `items` elements
into models, and the reading of SOAP Faults into the typed IpsFault tree. Never does I/O and
never returns part of a response: any broken item rejects the whole body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from lxml import etree

from notifier.ips.errors import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    IpsFault,
    IpsResponseError,
)
from notifier.ips.models import ActiveJob, JobLog, JobState, JobType

IPS_NS_PREFIX = "http://www.scene7.com/IpsApi/xsd"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_FAULT_FAMILIES: dict[str, type[IpsFault]] = {
    "authenticationFault": IpsAuthenticationFault,
    "authorizationFault": IpsAuthorizationFault,
    "ipsApiFault": IpsApiFault,
}
_SOAP_NAMESPACES = frozenset({SOAP_ENV_NS, "http://www.w3.org/2003/05/soap-envelope", ""})

T = TypeVar("T")
Fields = dict[str, str]

_local = threading.local()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread (lxml parsers must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        _local.parser = parser
    return parser


class _LocalNames(dict[object, str | None]):
    """Full tag -> IPS local name, or None for tags of foreign namespaces (ignored).

    One instance per parse, so hostile documents cannot grow a process-wide cache.
    """

    def __missing__(self, tag: object) -> str | None:
        name: str | None = None
        if isinstance(tag, str):
            if tag[:1] != "{":
                name = tag
            else:
                ns, _, local = tag[1:].partition("}")
                name = local if ns.startswith(IPS_NS_PREFIX) else None
        self[tag] = name
        return name


def _local_name(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _namespace(tag: object) -> str:
    if isinstance(tag, str) and tag[:1] == "{":
        return tag[1:].partition("}")[0]
    return ""


def parse_document(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse a whole response safely; reject anything that is not plain, bounded XML."""
    if not body or not body.strip():
        raise IpsResponseError(
            "IPS sent an empty response body; check the service URL and try again later"
        )
    if len(body) > max_bytes:
        raise IpsResponseError(
            f"IPS response is {len(body)} bytes, over the {max_bytes}-byte limit; "
            "ask for fewer rows (a company at a time) or raise the limit"
        )
    if _looks_like_html(body):
        raise IpsResponseError(_HTML_MESSAGE)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise IpsResponseError(_syntax_message(body, exc)) from None
    except (ValueError, LookupError) as exc:
        raise IpsResponseError(f"IPS response is not readable XML ({exc}); check the URL") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.system_url:
        raise IpsResponseError(
            "IPS response carries a DOCTYPE, which a SOAP response never does; "
            "refused as possibly hostile (check for a proxy rewriting responses)"
        )
    return root


_HTML_MESSAGE = (
    "IPS answered with an HTML page instead of SOAP; check the service URL "
    "(it should end in /scene7/services/IpsApiService) and any proxy in between"
)


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _syntax_message(body: bytes, exc: etree.XMLSyntaxError) -> str:
    return (
        f"IPS response is truncated or malformed XML ({exc}); the connection may have "
        "dropped or a proxy interfered: try again later, and check the URL if it persists"
    )


def soap_body_child(root: etree._Element) -> etree._Element:
    """The first element of the SOAP Body; raises the typed fault if it is a Fault."""
    if _local_name(root.tag) != "Envelope" or _namespace(root.tag) not in _SOAP_NAMESPACES:
        raise IpsResponseError(
            f"IPS response is XML but not a SOAP envelope (root <{_local_name(root.tag)}>); "
            "check the service URL"
        )
    body = next((c for c in root if _local_name(c.tag) == "Body"), None)
    if body is None:
        raise IpsResponseError("IPS response has no SOAP Body; try again later")
    first = next((c for c in body if isinstance(c.tag, str)), None)
    if first is None:
        raise IpsResponseError("IPS response has an empty SOAP Body; try again later")
    if _local_name(first.tag) == "Fault":
        raise fault_from_element(first)
    return first


def fault_from_element(fault: etree._Element) -> IpsFault:
    """Read a soapenv:Fault into the IpsFault subclass of its detail family."""
    faultstring = ""
    family = ""
    code: int | None = None
    reason = ""
    for child in fault:
        name = _local_name(child.tag)
        if name == "faultstring":
            faultstring = (child.text or "").strip()
        elif name == "detail":
            detail = _fault_detail_element(child)
            if detail is not None:
                family = _local_name(detail.tag)
                code, reason = _fault_detail(detail)
    cls = _FAULT_FAMILIES.get(family, IpsApiFault)
    return cls(family or "fault", code, reason, faultstring)


def _fault_detail_element(detail: etree._Element) -> etree._Element | None:
    """The family element of a fault's detail; servers may add others (e.g. hostname)."""
    elements = [d for d in detail if isinstance(d.tag, str)]
    known = [d for d in elements if _local_name(d.tag) in _FAULT_FAMILIES]
    chosen = known or elements
    return chosen[0] if chosen else None


def _fault_detail(detail: etree._Element) -> tuple[int | None, str]:
    code: int | None = None
    reason = ""
    for child in detail:
        name = _local_name(child.tag)
        if name == "code":
            try:
                code = int((child.text or "").strip())
            except ValueError:
                code = None
        elif name == "reason":
            reason = (child.text or "").strip()
    return code, reason


def _return_array(body: bytes, operation: str, array: str, max_bytes: int) -> etree._Element:
    first = soap_body_child(parse_document(body, max_bytes=max_bytes))
    if _local_name(first.tag) != f"{operation}Return":
        raise IpsResponseError(
            f"IPS answered <{_local_name(first.tag)}> where {operation}Return was expected; "
            "check the service URL and api_version"
        )
    found = next((c for c in first if _local_name(c.tag) == array), None)
    if found is None:
        raise IpsResponseError(
            f"IPS {operation}Return has no {array}; refusing to read it as an empty list"
        )
    return found


def _items(array: etree._Element, build: Callable[[Fields], T]) -> list[T]:
    # The hot loop of a 10,000-job poll: one dict per item, by local name, in C-backed
    # comprehension; present-but-empty elements read as "" and absent ones as missing keys.
    names = _LocalNames()
    out: list[T] = []
    append = out.append
    for position, item in enumerate(array, start=1):
        if names[item.tag] != "items":
            continue
        fields: Fields = {names[child.tag]: child.text or "" for child in item}  # type: ignore[misc]
        try:
            append(build(fields))
        except (KeyError, ValueError, OverflowError) as exc:
            raise IpsResponseError(
                f"IPS item #{position} is unusable ({_describe(exc)}); "
                "the whole response was rejected, nothing was read from it"
            ) from None
    return out


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing required element {exc.args[0]}"
    return str(exc)


def _required(fields: Fields, name: str) -> str:
    value = fields[name]
    if not value:
        raise KeyError(name)
    return value


def _int(value: str | None) -> int | None:
    if not value:
        return None
    return int(value)


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = _fromisoformat(value)
    except ValueError:
        parsed = _fromisoformat(value.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _bool(value: str | None) -> bool | None:
    if not value:
        return None
    text = value.strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not an xs:boolean")


_fromisoformat = datetime.fromisoformat
_TYPES = {t.value: t for t in JobType if t is not JobType.UNRECOGNIZED}
_STATES = {s.value: s for s in JobState if s is not JobState.UNRECOGNIZED}


def _active_job(f: Fields) -> ActiveJob:
    # Runs once per job of every poll: positional, in field order, few calls.
    get = f.get
    company, handle, name, state_raw = f["companyHandle"], f["jobHandle"], f["name"], f["state"]
    if not (company and handle and name and state_raw):
        raise KeyError(next(k for k in _ACTIVE_REQUIRED if not f[k]))
    type_raw = get("type", "")
    return ActiveJob(
        company,
        handle,
        name,
        get("originalName"),
        _TYPES.get(type_raw, JobType.UNRECOGNIZED),
        _STATES.get(state_raw, JobState.UNRECOGNIZED),
        get("submitUserEmail"),
        get("locale"),
        get("description"),
        get("serverName"),
        _datetime(get("startDate")),
        _datetime(get("triggerTime")),
        int(v) if (v := get("totalSize")) else None,
        int(v) if (v := get("progress")) else None,
        get("progressMessage"),
        _datetime(get("lastProgressUpdate")),
        type_raw,
        state_raw,
    )


_ACTIVE_REQUIRED = ("companyHandle", "jobHandle", "name", "state")


def _job_log(f: Fields) -> JobLog:
    get = f.get
    return JobLog(
        company_handle=_required(f, "companyHandle"),
        job_handle=_required(f, "jobHandle"),
        job_name=_required(f, "jobName"),
        original_job_name=get("originalJobName"),
        submit_user_email=get("submitUserEmail"),
        log_type=get("logType"),
        job_sub_type=get("jobSubType"),
        start_date=_datetime(get("startDate")),
        end_date=_datetime(get("endDate")),
        description=get("description"),
        file_success_count=_int(get("fileSuccessCount")),
        file_error_count=_int(get("fileErrorCount")),
        file_warning_count=_int(get("fileWarningCount")),
        file_duplicate_count=_int(get("fileDuplicateCount")),
        file_update_count=_int(get("fileUpdateCount")),
        total_file_count=_int(get("totalFileCount")),
        transfer_success_count=_int(get("transferSuccessCount")),
        transfer_error_count=_int(get("transferErrorCount")),
        transfer_warning_count=_int(get("transferWarningCount")),
        fatal_error=_bool(get("fatalError")),
    )


def parse_active_jobs(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[ActiveJob]:
    """Every ActiveJob of a whole getActiveJobs SOAP response, or an IpsError."""
    return _items(_return_array(body, "getActiveJobs", "jobArray", max_bytes), _active_job)


def parse_job_logs(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[JobLog]:
    """Every JobLog of a whole getJobLogs SOAP response, or an IpsError."""
    return _items(_return_array(body, "getJobLogs", "jobLogArray", max_bytes), _job_log)
