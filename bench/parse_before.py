"""The getActiveJobs parser as it was before incremental parsing, kept for bench/parse.py.

A verbatim copy of notifier/ips/parse.py at commit 2cfab88 (whole document parsed into one
tree with the hardened parser, then read), trimmed of getJobLogs. The benchmark compares the
incremental parser against it; nothing else imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from lxml import etree

from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType, new_active_job
from notifier.ips.envelope import (
    DEFAULT_MAX_BYTES,
    IPS_NS_PREFIX,
    local_name,
    parse_document,
    soap_body_child,
)
from notifier.ips.errors import IpsResponseError

__all__ = ["parse_active_jobs", "parse_job_logs"]

T = TypeVar("T")
# One item's children: full tag ("{namespace}name", or "name" outside any namespace) -> text,
# "" for a present but empty element; absent elements are missing keys.
Fields = dict[object, str]
# Given the "{namespace}" prefix of an item's fields ("" for none), reads one item's Fields.
ReaderFor = Callable[[str], Callable[[Fields], T]]


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


def _items(array: etree._Element, reader_for: ReaderFor[T]) -> list[T]:
    # The hot loop of a 10,000-job poll. Each child element costs lxml a proxy object and a
    # "{namespace}name" string; the walk adds nothing per element but one dict entry, keyed
    # by that full tag. The reader looks fields up by full tag in the namespace of the first
    # item, which is right as long as no element of another IPS namespace (or of none) could
    # stand for one of its fields; `plain` holds the tags known to be harmless, and an item
    # with any other tag is re-read element by element by local name.
    names = _LocalNames()
    plain: set[object] = set()
    ns = ""
    read: Callable[[Fields], T] | None = None
    out: list[T] = []
    append = out.append
    for position, item in enumerate(array, start=1):
        tag = item.tag
        if names[tag] != "items":
            continue
        if read is None:
            ns = tag[: -len("items")]  # "{an IPS namespace}" or ""
            read = reader_for(ns)
        fields: Fields = {child.tag: child.text or "" for child in item}
        if not fields.keys() <= plain and not _all_plain(fields, plain, names, ns):
            fields = _by_local_name(item, names, ns)
        try:
            append(read(fields))
        except (KeyError, ValueError, OverflowError) as exc:
            raise IpsResponseError(
                f"IPS item #{position} is unusable ({_describe(exc)}); "
                "the whole response was rejected, nothing was read from it"
            ) from None
    return out


def _all_plain(fields: Fields, plain: set[object], names: _LocalNames, ns: str) -> bool:
    """Whether every tag is in namespace `ns` or foreign; remembers those that are."""
    for tag in fields.keys() - plain:
        in_ns = isinstance(tag, str) and (tag.startswith(ns) if ns else tag[:1] != "{")
        if not in_ns and names[tag] is not None:
            return False
        plain.add(tag)
    return True


def _by_local_name(item: etree._Element, names: _LocalNames, ns: str) -> Fields:
    # Element by element, so that of two elements with one local name the later one wins
    # whatever their namespaces, as for any repeated element; keyed as the reader expects.
    by_name = {names[child.tag]: child.text or "" for child in item}
    return {ns + name: text for name, text in by_name.items() if name is not None}


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing required element {exc.args[0]}"
    return str(exc)


def _int(value: str | None) -> int | None:
    if not value:
        return None
    return int(value)


def _datetime(value: str | None) -> datetime | None:
    return _instant(value) if value else None


def _instant(text: str) -> datetime:
    try:
        parsed = _fromisoformat(text)
    except ValueError:
        parsed = _fromisoformat(text.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _Instants(dict[str, datetime]):
    """xs:dateTime text -> aware datetime, one instance per parse: a response repeats the
    same instants (a job's start and trigger time, jobs queued together), each read once."""

    def __missing__(self, text: str) -> datetime:
        parsed = self[text] = _instant(text)
        return parsed


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
_ACTIVE_FIELDS = (
    "companyHandle",
    "jobHandle",
    "name",
    "originalName",
    "type",
    "state",
    "submitUserEmail",
    "locale",
    "description",
    "serverName",
    "startDate",
    "triggerTime",
    "totalSize",
    "progress",
    "progressMessage",
    "lastProgressUpdate",
)
_ACTIVE_REQUIRED = ("companyHandle", "jobHandle", "name", "state")


def _active_job_reader(ns: str) -> Callable[[Fields], ActiveJob]:
    # Runs once per job of every poll: full tags computed once, positional construction.
    (
        company_tag,
        handle_tag,
        name_tag,
        original_name_tag,
        type_tag,
        state_tag,
        email_tag,
        locale_tag,
        description_tag,
        server_tag,
        start_tag,
        trigger_tag,
        size_tag,
        progress_tag,
        message_tag,
        update_tag,
    ) = (ns + name for name in _ACTIVE_FIELDS)
    instants = _Instants()

    def active_job(f: Fields) -> ActiveJob:
        get = f.get
        company, handle, name, state_raw = (
            get(company_tag),
            get(handle_tag),
            get(name_tag),
            get(state_tag),
        )
        if not (company and handle and name and state_raw):
            raise KeyError(next(n for n in _ACTIVE_REQUIRED if not get(ns + n)))
        type_raw = get(type_tag, "")
        return new_active_job(
            company,
            handle,
            name,
            get(original_name_tag),
            _TYPES.get(type_raw, JobType.UNRECOGNIZED),
            _STATES.get(state_raw, JobState.UNRECOGNIZED),
            get(email_tag),
            get(locale_tag),
            get(description_tag),
            get(server_tag),
            instants[v] if (v := get(start_tag)) else None,
            instants[v] if (v := get(trigger_tag)) else None,
            int(v) if (v := get(size_tag)) else None,
            int(v) if (v := get(progress_tag)) else None,
            get(message_tag),
            instants[v] if (v := get(update_tag)) else None,
            type_raw,
            state_raw,
        )

    return active_job


def _job_log_reader(ns: str) -> Callable[[Fields], JobLog]:
    def job_log(f: Fields) -> JobLog:
        def get(name: str) -> str | None:
            return f.get(ns + name)

        def required(name: str) -> str:
            value = get(name)
            if not value:
                raise KeyError(name)
            return value

        return JobLog(
            company_handle=required("companyHandle"),
            job_handle=required("jobHandle"),
            job_name=required("jobName"),
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

    return job_log


def parse_active_jobs(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[ActiveJob]:
    """Every ActiveJob of a whole getActiveJobs SOAP response, or an IpsError."""
    array = _return_array(body, "getActiveJobs", "jobArray", max_bytes)
    return _items(array, _active_job_reader)


def parse_job_logs(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[JobLog]:
    """Every JobLog of a whole getJobLogs SOAP response, or an IpsError."""
    return _items(_return_array(body, "getJobLogs", "jobLogArray", max_bytes), _job_log_reader)
