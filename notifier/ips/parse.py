"""Fast reading of IPS responses into ActiveJob and JobLog values, item by item.

Owns the local-name dispatch that turns `items` elements into models, and the readers of
whole answers. Never does I/O and never returns part of a response: any broken item rejects
the whole body. The answer is walked incrementally by notifier.ips.stream (hardened pull
parser, caps, Faults, each item freed once read); the nested parts of a job (task progress,
job detail) are read by notifier.ips.nested.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from lxml import etree

from notifier.core.jobs import (
    DETAIL_JOB_TYPES,
    ActiveJob,
    JobDetail,
    JobLog,
    JobState,
    JobType,
    new_active_job,
)
from notifier.ips.envelope import DEFAULT_MAX_BYTES, DEFAULT_MAX_ITEM_BYTES, IPS_NS_PREFIX
from notifier.ips.errors import IpsResponseError
from notifier.ips.nested import DETAIL_KINDS, instant, read_detail, read_task_progress
from notifier.ips.stream import AnswerStream

__all__ = ["active_jobs_stream", "job_logs_stream", "parse_active_jobs", "parse_job_logs"]

T = TypeVar("T")
# One item's children: full tag ("{namespace}name", or "name" outside any namespace) -> text,
# "" for a present but empty element; absent elements are missing keys.
Fields = dict[object, str]
# Given the "{namespace}" prefix of an item's fields ("" for none) and the local names of the
# parse, reads one item from its Fields (and its element, for the nested parts).
ReaderFor = Callable[[str, "_LocalNames"], Callable[[Fields, etree._Element], T]]


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


def _item_reader(reader_for: ReaderFor[T]) -> Callable[[int, etree._Element], T | None]:
    # Runs once per item of an answer. Each child element costs lxml a proxy object and a
    # "{namespace}name" string; the walk adds nothing per element but one dict entry, keyed
    # by that full tag. The reader looks fields up by full tag in the namespace of the first
    # item, which is right as long as no element of another IPS namespace (or of none) could
    # stand for one of its fields; `plain` holds the tags known to be harmless, and an item
    # with any other tag is re-read element by element by local name.
    names = _LocalNames()
    plain: set[object] = set()
    ns = ""
    read: Callable[[Fields, etree._Element], T] | None = None

    def item(position: int, element: etree._Element) -> T | None:
        nonlocal ns, read
        tag = element.tag
        if names[tag] != "items":
            return None
        if read is None:
            ns = tag[: -len("items")]  # "{an IPS namespace}" or ""
            read = reader_for(ns, names)
        fields: Fields = {child.tag: child.text or "" for child in element}
        if not fields.keys() <= plain and not _all_plain(fields, plain, names, ns):
            fields = _by_local_name(element, names, ns)
        try:
            return read(fields, element)
        except (KeyError, ValueError, OverflowError) as exc:
            raise IpsResponseError(
                f"IPS item #{position} is unusable ({_describe(exc)}); "
                "the whole response was rejected, nothing was read from it"
            ) from None

    return item


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
    return instant(value) if value else None


class _Instants(dict[str, datetime]):
    """xs:dateTime text -> aware datetime, one instance per parse: a response repeats the
    same instants (a job's start and trigger time, jobs queued together), each read once.
    Emptied when full, so that memory stays flat however many distinct instants come."""

    def __missing__(self, text: str) -> datetime:
        if len(self) >= _INSTANTS_KEPT:
            self.clear()
        parsed = self[text] = instant(text)
        return parsed


_INSTANTS_KEPT = 1024


def _bool(value: str | None) -> bool | None:
    if not value:
        return None
    text = value.strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not an xs:boolean")


_TYPES: dict[str, JobType] = {t.value: t for t in JobType if t is not JobType.UNRECOGNIZED}
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
    "taskProgressArray",
)
_ACTIVE_REQUIRED = ("companyHandle", "jobHandle", "name", "state")


def _active_job_reader(
    ns: str, names: _LocalNames
) -> Callable[[Fields, etree._Element], ActiveJob]:
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
        tasks_tag,
    ) = (ns + name for name in _ACTIVE_FIELDS)
    detail_tags = frozenset(ns + kind for kind in DETAIL_KINDS)
    instants = _Instants()

    def nested(element: etree._Element, f: Fields) -> tuple[tuple, JobDetail | None]:  # type: ignore[type-arg]
        # Both come last in schema order: found from the end, by local name, so that of two
        # the later one counts, as for any repeated element.
        want_tasks = tasks_tag in f
        want_detail = not detail_tags.isdisjoint(f)
        tasks = detail = None
        if want_tasks or want_detail:
            for child in element.iterchildren(reversed=True):
                name = names[child.tag]
                if name == "taskProgressArray" and tasks is None:
                    tasks = child
                elif name in DETAIL_KINDS and detail is None:
                    detail = read_detail(child, names)
                else:
                    continue
                if (tasks is not None or not want_tasks) and (detail or not want_detail):
                    break
        return read_task_progress(tasks, names), detail

    def active_job(f: Fields, element: etree._Element) -> ActiveJob:
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
        tasks, detail = nested(element, f)
        job_type = _TYPES.get(type_raw)
        if job_type is None:
            job_type = JobType.UNRECOGNIZED if detail is None else DETAIL_JOB_TYPES[detail.kind]
        return new_active_job(
            company,
            handle,
            name,
            get(original_name_tag),
            job_type,
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
            tasks,
            detail,
        )

    return active_job


def _job_log_reader(ns: str, names: _LocalNames) -> Callable[[Fields, etree._Element], JobLog]:
    def job_log(f: Fields, element: etree._Element) -> JobLog:
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


def active_jobs_stream(
    *, max_bytes: int = DEFAULT_MAX_BYTES, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
) -> AnswerStream[ActiveJob]:
    """An incremental reader of one getActiveJobs answer: feed it bytes, close it for jobs."""
    return AnswerStream(
        "getActiveJobs",
        "jobArray",
        _item_reader(_active_job_reader),
        max_bytes=max_bytes,
        max_item_bytes=max_item_bytes,
    )


def job_logs_stream(
    *, max_bytes: int = DEFAULT_MAX_BYTES, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
) -> AnswerStream[JobLog]:
    """An incremental reader of one getJobLogs answer."""
    return AnswerStream(
        "getJobLogs",
        "jobLogArray",
        _item_reader(_job_log_reader),
        max_bytes=max_bytes,
        max_item_bytes=max_item_bytes,
    )


def parse_active_jobs(
    body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
) -> list[ActiveJob]:
    """Every ActiveJob of a whole getActiveJobs SOAP response, or an IpsError."""
    stream = active_jobs_stream(max_bytes=max_bytes, max_item_bytes=max_item_bytes)
    stream.feed(body)
    return stream.close()


def parse_job_logs(
    body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
) -> list[JobLog]:
    """Every JobLog of a whole getJobLogs SOAP response, or an IpsError."""
    stream = job_logs_stream(max_bytes=max_bytes, max_item_bytes=max_item_bytes)
    stream.feed(body)
    return stream.close()
