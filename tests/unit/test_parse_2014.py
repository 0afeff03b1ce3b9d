"""The 2014-04-03 ActiveJob: its 14 job-detail kinds with emailSetting, task progress read
only where it belongs, bare fault documents, the two size caps, and incremental reading."""

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notifier.core.jobs import (
    DETAIL_JOB_TYPES,
    KINDS_WITHOUT_EMAIL,
    EmailSetting,
    JobDetail,
    JobDetailKind,
    JobType,
    TaskState,
)
from notifier.ips import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    IpsResponseError,
    parse_active_jobs,
    parse_job_logs,
)
from notifier.ips.parse import active_jobs_stream
from tests import soap_bodies as sb

NS = f"{sb.IPS_NS}/2014-04-03"
PACIFIC = timezone(timedelta(hours=-8))


def _detail_xml(kind: JobDetailKind, setting: str | None) -> str:
    email = "" if setting is None else f"<emailSetting>{setting}</emailSetting>"
    return f"<{kind.value}><publishType>Full</publishType>{email}<x>1</x></{kind.value}>"


@pytest.mark.parametrize("kind", list(JobDetailKind))
def test_each_of_the_14_detail_kinds_gives_the_job_its_kind_and_email_setting(
    kind: JobDetailKind,
) -> None:
    setting = None if kind in KINDS_WITHOUT_EMAIL else "ErrorAndWarning"
    body = sb.job_with_detail(kind, _detail_xml(kind, setting), "SomeNewType", NS)
    (job,) = parse_active_jobs(body)
    expected = None if setting is None else EmailSetting.ERROR_AND_WARNING
    assert job.detail == JobDetail(kind, expected)
    assert job.type is DETAIL_JOB_TYPES[kind]
    assert job.type_raw == "SomeNewType"


def test_there_are_14_detail_kinds_and_12_of_them_hold_an_email_setting() -> None:
    assert len(JobDetailKind) == 14
    assert len(set(JobDetailKind) - KINDS_WITHOUT_EMAIL) == 12


def test_an_export_job_is_an_export_and_a_reference_type_wins_over_the_detail() -> None:
    export = sb.job_with_detail(
        JobDetailKind.EXPORT, _detail_xml(JobDetailKind.EXPORT, "All"), "", NS
    )
    (job,) = parse_active_jobs(export)
    assert job.type is JobType.EXPORT
    assert job.detail == JobDetail(JobDetailKind.EXPORT, EmailSetting.ALL)
    kind = JobDetailKind.UPLOAD_URLS
    (upload,) = parse_active_jobs(
        sb.job_with_detail(kind, _detail_xml(kind, "None"), "UrlUpload", NS)
    )
    assert upload.type is JobType.URL_UPLOAD
    assert upload.detail == JobDetail(kind, EmailSetting.NONE)


def test_an_unknown_email_setting_or_detail_element_is_kept_apart_not_rejected() -> None:
    kind = JobDetailKind.VIDEO_PUBLISH
    (job,) = parse_active_jobs(sb.job_with_detail(kind, _detail_xml(kind, "Sometimes"), "", NS))
    assert job.detail == JobDetail(kind, EmailSetting.UNRECOGNIZED)
    future = "<hologramPublishJob><emailSetting>All</emailSetting></hologramPublishJob>"
    (job,) = parse_active_jobs(sb.job_with_detail(kind, future, "HoloPublish", NS))
    assert job.detail is None
    assert job.type is JobType.UNRECOGNIZED


def test_task_progress_is_read_with_its_item_progress_as_the_schema_types_it() -> None:
    (job,) = parse_active_jobs(sb.active_jobs_body([sb.active_job()]))
    (task,) = job.task_progress
    assert task.task_state is TaskState.PROCESSING
    assert (task.num_processed, task.num_processing, task.num_pending) == (42, 1, 57)
    assert isinstance(task.progress, float) and task.progress == 0.42
    (item,) = task.items
    assert item.item_name == "spring/hero-banner.tif"
    assert item.progress == 0.5
    assert job == sb.active_job()


def test_nested_progress_elements_are_not_taken_for_the_jobs_own() -> None:
    tasks = (
        "<taskProgressArray><items><taskType>Upload</taskType><numProcessed>3</numProcessed>"
        "<progress>0.75</progress><progressMessage>task message</progressMessage>"
        "<lastProgressUpdate>2026-11-24T10:16:01-08:00</lastProgressUpdate>"
        "<taskItemProgressArray><items><itemName>a.jpg</itemName><progress>1.0E0</progress>"
        "</items></taskItemProgressArray></items></taskProgressArray>"
    )
    body = sb.envelope(
        f'<getActiveJobsReturn xmlns="{NS}"><jobArray><items><companyHandle>47</companyHandle>'
        f"<jobHandle>47|j|</jobHandle><name>j</name><state>Running</state>{tasks}"
        "</items></jobArray></getActiveJobsReturn>"
    )
    (job,) = parse_active_jobs(body)
    assert job.progress is None
    assert job.progress_message is None
    assert job.last_progress_update is None
    (task,) = job.task_progress
    assert task.task_state is None  # absent, as in 2010-01-31 answers
    assert task.progress == 0.75
    assert task.last_progress_update == datetime(2026, 11, 24, 10, 16, 1, tzinfo=PACIFIC)
    assert [(i.item_name, i.progress) for i in task.items] == [("a.jpg", 1.0)]


def test_xsd_double_special_values_read() -> None:
    task = sb.task_progress(progress=math.inf, items=())
    (job,) = parse_active_jobs(sb.active_jobs_body([sb.active_job(task_progress=(task,))]))
    assert b"<progress>INF</progress>" in sb.active_jobs_body(
        [sb.active_job(task_progress=(task,))]
    )
    assert job.task_progress[0].progress == math.inf


def test_an_unreadable_task_count_rejects_the_whole_response() -> None:
    body = sb.active_jobs_body([sb.active_job()]).replace(
        b">42</numProcessed>", b">many</numProcessed>"
    )
    with pytest.raises(IpsResponseError, match="item #1 is unusable"):
        parse_active_jobs(body)


@pytest.mark.parametrize(
    ("family", "code", "cls"),
    [
        ("authenticationFault", 10001, IpsAuthenticationFault),
        ("authorizationFault", 20003, IpsAuthorizationFault),
        ("ipsApiFault", 30003, IpsApiFault),
    ],
)
def test_a_bare_fault_document_raises_the_fault_it_names(
    family: str, code: int, cls: type[Exception]
) -> None:
    for parse in (parse_active_jobs, parse_job_logs):
        with pytest.raises(cls) as caught:
            parse(sb.bare_fault_body(family, code))
        assert caught.value.code == code  # type: ignore[attr-defined]
        assert caught.value.reason == "Invalid username/password"  # type: ignore[attr-defined]


def test_a_bare_element_of_another_name_is_still_not_an_envelope() -> None:
    with pytest.raises(IpsResponseError, match="not a SOAP envelope"):
        parse_active_jobs(f'<tns:code xmlns:tns="{sb.IPS_NS}">1</tns:code>'.encode())
    with pytest.raises(IpsResponseError, match="not a SOAP envelope"):
        parse_active_jobs(b"<authenticationFault><code>10001</code></authenticationFault>")


def test_prefixed_answers_read_with_datetimes_with_or_without_fractions() -> None:
    job = sb.active_job(
        start_date=datetime(2026, 11, 24, 10, 15, 30, 123000, tzinfo=PACIFIC),
        trigger_time=datetime(2026, 11, 24, 10, 16, 1, tzinfo=PACIFIC),
    )
    body = sb.active_jobs_body_prefixed([job], NS)
    assert b"<ns1:jobArray><ns1:items>" in body
    assert b"2026-11-24T10:16:01-08:00" in body
    assert parse_active_jobs(body) == [job]


def test_one_job_element_over_its_cap_is_refused_though_the_answer_is_under_its_own() -> None:
    jobs = [sb.active_job(job_handle=f"47|{n}|") for n in range(50)]
    body = sb.active_jobs_body(jobs)
    assert len(parse_active_jobs(body, max_item_bytes=5_000)) == 50
    big = sb.active_job(description="x" * 200_000)
    with pytest.raises(IpsResponseError, match="100000-byte limit of a single item"):
        parse_active_jobs(sb.active_jobs_body([*jobs, big]), max_item_bytes=100_000)
    with pytest.raises(IpsResponseError, match="over the 50000-byte limit"):
        parse_active_jobs(body, max_bytes=50_000)


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_fed_in_chunks_of_any_size_the_answer_reads_the_same(size: int) -> None:
    jobs = [sb.active_job(job_handle=f"47|{n}|", name=f"Jöb {n}") for n in range(20)]
    body = sb.active_jobs_body(jobs)
    stream = active_jobs_stream()
    for start in range(0, len(body), size):
        stream.feed(body[start : start + size])
    assert stream.close() == jobs


def test_each_finished_job_element_is_freed_once_read() -> None:
    body = sb.active_jobs_body([sb.active_job(job_handle=f"47|{n}|") for n in range(500)])
    stream = active_jobs_stream()
    stream.feed(body)
    assert len(stream.close()) == 500
    root = stream._root
    assert root is not None
    # What is left of the tree: the envelope's spine and at most the last (cleared) job.
    assert sum(1 for _ in root.iter()) <= 6


def test_a_fault_fed_in_chunks_is_raised_at_its_end() -> None:
    body = sb.fault_body("authorizationFault", 20003, "No permission")
    stream = active_jobs_stream()
    with pytest.raises(IpsAuthorizationFault, match="No permission"):
        for start in range(0, len(body), 5):
            stream.feed(body[start : start + 5])
        stream.close()


def test_zone_less_task_instants_are_utc() -> None:
    body = sb.active_jobs_body([sb.active_job()]).decode()
    stamp = (sb.START + timedelta(minutes=5, seconds=3)).isoformat()
    (job,) = parse_active_jobs(body.replace(stamp, "2026-03-14T22:10:01").encode())
    assert job.task_progress[0].items[0].last_progress_update == datetime(
        2026, 3, 14, 22, 10, 1, tzinfo=UTC
    )
