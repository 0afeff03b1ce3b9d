"""Properties of the parser: what the simulator writes reads back unchanged, and no input
whatsoever escapes the IpsError tree."""

import contextlib
from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.core.jobs import (
    EmailSetting,
    JobDetail,
    JobDetailKind,
    TaskItemProgress,
    TaskProgress,
    TaskState,
    job_type_of,
    new_active_job,
    new_task_item,
    new_task_progress,
)
from notifier.ips import (
    ActiveJob,
    IpsError,
    JobLog,
    JobState,
    JobType,
    parse_active_jobs,
    parse_job_logs,
)
from notifier.ips.parse import active_jobs_stream
from tests import soap_bodies as sb

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every character XML 1.0 can carry (no surrogates, no C0/C1 controls but tab, LF, CR).
xml_text = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs", "Cc"),
        include_characters="\t\n\r",
        exclude_characters="\ufffe\uffff",
    ),
    max_size=30,
)
required_text = xml_text.filter(bool)
optional_text = st.none() | xml_text
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets | st.just(UTC)
)
optional_date = st.none() | aware
optional_int = st.none() | st.integers(-(2**63), 2**63 - 1)
type_raw = st.sampled_from([t.value for t in JobType]) | required_text
state_raw = st.sampled_from([s.value for s in JobState]) | required_text


optional_double = st.none() | st.floats(allow_nan=False)
item_progress = st.builds(
    TaskItemProgress,
    item_name=optional_text,
    progress=optional_double,
    progress_message=optional_text,
    last_progress_update=optional_date,
)
tasks = st.builds(
    TaskProgress,
    task_type=optional_text,
    task_state=st.none() | st.sampled_from(TaskState),
    num_processed=st.none() | st.integers(0, 2**31 - 1),
    num_processing=st.none() | st.integers(0, 2**31 - 1),
    num_pending=st.none() | st.integers(0, 2**31 - 1),
    progress=optional_double,
    progress_message=optional_text,
    last_progress_update=optional_date,
    items=st.lists(item_progress, max_size=2).map(tuple),
)
details = st.none() | st.builds(
    JobDetail,
    kind=st.sampled_from(JobDetailKind),
    email_setting=st.none() | st.sampled_from(EmailSetting),
)


@st.composite
def active_jobs(draw: st.DrawFn) -> ActiveJob:
    raw_type = draw(type_raw)
    raw_state = draw(state_raw)
    detail = draw(details)
    return ActiveJob(
        company_handle=draw(required_text),
        job_handle=draw(required_text),
        name=draw(required_text),
        original_name=draw(optional_text),
        type=job_type_of(raw_type, detail),
        state=JobState.parse(raw_state),
        submit_user_email=draw(optional_text),
        locale=draw(optional_text),
        description=draw(optional_text),
        server_name=draw(optional_text),
        start_date=draw(optional_date),
        trigger_time=draw(optional_date),
        total_size=draw(optional_int),
        progress=draw(optional_int),
        progress_message=draw(optional_text),
        last_progress_update=draw(optional_date),
        type_raw=raw_type,
        state_raw=raw_state,
        task_progress=tuple(draw(st.lists(tasks, max_size=2))),
        detail=detail,
    )


@st.composite
def job_logs(draw: st.DrawFn) -> JobLog:
    counts = [draw(optional_int) for _ in range(9)]
    return JobLog(
        company_handle=draw(required_text),
        job_handle=draw(required_text),
        job_name=draw(required_text),
        original_job_name=draw(optional_text),
        submit_user_email=draw(optional_text),
        log_type=draw(optional_text),
        job_sub_type=draw(optional_text),
        start_date=draw(optional_date),
        end_date=draw(optional_date),
        description=draw(optional_text),
        file_success_count=counts[0],
        file_error_count=counts[1],
        file_warning_count=counts[2],
        file_duplicate_count=counts[3],
        file_update_count=counts[4],
        total_file_count=counts[5],
        transfer_success_count=counts[6],
        transfer_error_count=counts[7],
        transfer_warning_count=counts[8],
        fatal_error=draw(st.none() | st.booleans()),
    )


@FAST
@given(st.lists(active_jobs(), max_size=4), st.sampled_from(sb.NAMESPACES))
def test_any_active_jobs_survive_serialise_then_parse(jobs: list[ActiveJob], ns: str) -> None:
    assert parse_active_jobs(sb.active_jobs_body(jobs, ns)) == jobs


@FAST
@given(st.lists(active_jobs(), max_size=3), st.sampled_from(sb.NAMESPACES[:-1]))
def test_prefixed_active_jobs_survive_serialise_then_parse(jobs: list[ActiveJob], ns: str) -> None:
    assert parse_active_jobs(sb.active_jobs_body_prefixed(jobs, ns)) == jobs


@FAST
@given(st.lists(active_jobs(), max_size=3), st.integers(1, 200))
def test_any_chunking_reads_as_the_whole_body(jobs: list[ActiveJob], size: int) -> None:
    body = sb.active_jobs_body(jobs)
    stream = active_jobs_stream()
    for start in range(0, len(body), size):
        stream.feed(body[start : start + size])
    assert stream.close() == jobs


@FAST
@given(st.lists(job_logs(), max_size=4), st.sampled_from(sb.NAMESPACES))
def test_any_job_logs_survive_serialise_then_parse(logs: list[JobLog], ns: str) -> None:
    assert parse_job_logs(sb.job_logs_body(logs, ns)) == logs


def _parse_or_ips_error(body: bytes) -> None:
    for parse in (parse_active_jobs, parse_job_logs):
        with contextlib.suppress(IpsError):
            parse(body)


@settings(FAST, max_examples=500)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_ips_error(body: bytes) -> None:
    _parse_or_ips_error(body)


VALID = [
    sb.active_jobs_body([sb.active_job(), sb.active_job(job_handle="47|b|")]),
    sb.active_jobs_body_prefixed([sb.active_job()], f"{sb.IPS_NS}/2014-04-03"),
    sb.job_logs_body([sb.job_log()]),
    sb.fault_body("authorizationFault", 20003, "No permission"),
    sb.bare_fault_body(),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if action == "flip":
            body[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del body[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            body[at:at] = draw(st.sampled_from([b"<", b"&", b"]]>", b"<!DOCTYPE x>", b"\x00"]))
        else:
            del body[at:]
        if not body:
            break
    return bytes(body)


@settings(FAST, max_examples=800)
@given(mutated())
def test_mutated_responses_only_ever_raise_ips_error(body: bytes) -> None:
    _parse_or_ips_error(body)


@FAST
@given(active_jobs())
def test_the_parser_constructor_makes_the_same_frozen_value(job: ActiveJob) -> None:
    made = new_active_job(*(getattr(job, f.name) for f in fields(ActiveJob)))
    assert type(made) is ActiveJob
    assert made == job
    assert hash(made) == hash(job)
    assert repr(made) == repr(job)
    with pytest.raises(FrozenInstanceError):
        made.name = "changed"  # type: ignore[misc]


@FAST
@given(tasks)
def test_the_task_constructors_make_the_same_frozen_values(task: TaskProgress) -> None:
    items = tuple(new_task_item(*(getattr(i, f.name) for f in fields(i))) for i in task.items)
    made = new_task_progress(*[getattr(task, f.name) for f in fields(task)][:-1], items)
    assert type(made) is TaskProgress
    assert all(type(i) is TaskItemProgress for i in made.items)
    assert made == task
    assert hash(made) == hash(task)
    assert repr(made) == repr(task)
    with pytest.raises(FrozenInstanceError):
        made.progress = 1.0  # type: ignore[misc]


# An item's children may come in any accepted namespace (another IPS version, none) or in a
# foreign one, and may repeat. Whatever the mix, the item must read exactly as its
# normalised form: foreign elements dropped, the last of each local name kept.
FOREIGN_NS = "urn:example:not-ips"
FIELD_TEXT: dict[str, st.SearchStrategy[str]] = {
    "companyHandle": xml_text,
    "jobHandle": xml_text,
    "name": xml_text,
    "state": st.sampled_from([s.value for s in JobState]) | xml_text,
    "type": st.sampled_from([t.value for t in JobType]) | xml_text,
    "locale": xml_text,
    "progress": st.integers(0, 100).map(str) | st.just(""),
    "totalSize": st.integers(-(2**63), 2**63 - 1).map(str) | st.just("oops"),
    "startDate": aware.map(datetime.isoformat) | st.just(""),
    "someFutureField": xml_text,
}
Child = tuple[str, str, str]  # namespace, local name, text


@st.composite
def mixed_items(draw: st.DrawFn, ns: str) -> list[Child]:
    required = [(ns, name, draw(required_text)) for name in ("companyHandle", "jobHandle")]
    required += [(ns, "name", draw(required_text)), (ns, "state", "Running")]
    extra = draw(
        st.lists(
            st.tuples(
                st.sampled_from((*sb.NAMESPACES, FOREIGN_NS)),
                st.sampled_from(sorted(FIELD_TEXT)),
            ),
            max_size=10,
        )
    )
    return required + [(child_ns, name, draw(FIELD_TEXT[name])) for child_ns, name in extra]


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _items_body(ns: str, items: list[list[Child]], explicit: bool) -> bytes:
    def child(child_ns: str, name: str, text: str) -> str:
        xmlns = f' xmlns="{child_ns}"' if explicit else ""
        return f"<{name}{xmlns}>{_escape(text)}</{name}>"

    array = "".join("<items>" + "".join(child(*c) for c in item) + "</items>" for item in items)
    return sb.envelope(
        f'<getActiveJobsReturn xmlns="{ns}"><jobArray>{array}</jobArray></getActiveJobsReturn>'
    )


def _normalised(item: list[Child]) -> list[Child]:
    last = {name: (ns, name, text) for ns, name, text in item if ns != FOREIGN_NS}
    return list(last.values())


def _outcome(body: bytes) -> list[ActiveJob] | str:
    try:
        return parse_active_jobs(body)
    except IpsError as exc:
        return str(exc)


@settings(FAST, max_examples=300)
@given(
    st.sampled_from(sb.NAMESPACES).flatmap(
        lambda ns: st.tuples(st.just(ns), st.lists(mixed_items(ns), min_size=1, max_size=3))
    )
)
def test_children_in_mixed_namespaces_read_as_their_normalised_form(
    case: tuple[str, list[list[Child]]],
) -> None:
    ns, items = case
    mixed = _items_body(ns, items, explicit=True)
    normalised = _items_body(ns, [_normalised(item) for item in items], explicit=False)
    assert _outcome(mixed) == _outcome(normalised)
