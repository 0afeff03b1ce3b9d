"""Fast reading of IPS responses into ActiveJob and JobLog values.

Owns the local-name dispatch that turns `items` elements into models. Never does I/O and
never returns part of a response: any broken item rejects the whole body. The document
itself is read by notifier.ips.envelope (hardened parser, Faults).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from lxml import etree

from notifier.ips.envelope import (
    DEFAULT_MAX_BYTES,
    IPS_NS_PREFIX,
    local_name,
    parse_document,
    soap_body_child,
)
from notifier.ips.errors import IpsResponseError
from notifier.ips.models import ActiveJob, JobLog, JobState, JobType

__all__ = ["parse_active_jobs", "parse_job_logs"]

T = TypeVar("T")
Fields = dict[str | None, str]  # None: elements of foreign namespaces, ignored


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


def _return_array(body: bytes, operation: str, array: str, max_bytes: int) -> etree._Element:
    first = soap_body_child(parse_document(body, max_bytes=max_bytes))
    if local_name(first.tag) != f"{operation}Return":
        raise IpsResponseError(
            f"IPS answered <{local_name(first.tag)}> where {operation}Return was expected; "
            "check the service URL and api_version"
        )
    found = next((c for c in first if local_name(c.tag) == array), None)
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
        fields: Fields = {names[child.tag]: child.text or "" for child in item}
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
