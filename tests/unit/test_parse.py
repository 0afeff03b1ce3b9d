from datetime import UTC, datetime, timedelta

import pytest

from notifier.ips import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    IpsPermanentError,
    IpsResponseError,
    IpsRetryableError,
    JobState,
    JobType,
    parse_active_jobs,
    parse_job_logs,
)
from tests import soap_bodies as sb


@pytest.mark.parametrize("namespace", sb.NAMESPACES)
def test_hand_written_response_reads_in_every_namespace(namespace: str) -> None:
    upload, other = parse_active_jobs(sb.hand_written_active_jobs(namespace))

    assert upload.job_handle == "47|Upload Spring|"
    assert upload.type is JobType.URL_UPLOAD
    assert upload.state is JobState.WAITING_COORDINATOR
    assert upload.locale == "ja-JP"
    assert upload.start_date == datetime(2007, 9, 15, 5, 4, 58, 536000, tzinfo=UTC)
    assert upload.last_progress_update == datetime(2007, 9, 14, 22, 4, 58, tzinfo=UTC)
    assert upload.total_size == 2048
    assert upload.progress == 0
    assert upload.description is None
    assert upload.trigger_time is None

    assert other.name == "Nouveau & amélioré"
    assert other.type is JobType.UNRECOGNIZED
    assert other.type_raw == "HoloDeckPublish"
    assert other.locale == ""
    assert other.progress == 75


@pytest.mark.parametrize("namespace", sb.NAMESPACES)
def test_serialised_jobs_and_logs_read_back_in_every_namespace(namespace: str) -> None:
    jobs = [sb.active_job(), sb.active_job(job_handle="47|Second|", state=JobState.NEW)]
    jobs[1] = sb.active_job(job_handle="47|Second|", state=JobState.NEW, state_raw="New")
    logs = [sb.job_log(), sb.job_log(fatal_error=True, file_error_count=3, log_type="FatalError")]

    assert parse_active_jobs(sb.active_jobs_body(jobs, namespace)) == jobs
    assert parse_job_logs(sb.job_logs_body(logs, namespace)) == logs


def test_empty_and_self_closing_job_arrays_mean_no_active_jobs() -> None:
    assert parse_active_jobs(sb.active_jobs_body([])) == []
    body = sb.envelope(
        f'<getActiveJobsReturn xmlns="{sb.IPS_NS}"><jobArray/></getActiveJobsReturn>'
    )
    assert parse_active_jobs(body) == []


def test_a_return_without_job_array_is_rejected_not_read_as_empty() -> None:
    body = sb.envelope(f'<getActiveJobsReturn xmlns="{sb.IPS_NS}"/>')
    with pytest.raises(IpsResponseError, match="no jobArray"):
        parse_active_jobs(body)


def test_a_job_without_job_handle_rejects_the_whole_response() -> None:
    good = sb.active_jobs_body([sb.active_job()]).decode()
    broken = good.replace(
        "</items></jobArray>",
        "</items><items><companyHandle>47</companyHandle>"
        "<name>x</name><state>New</state></items></jobArray>",
    )
    with pytest.raises(IpsResponseError, match=r"item #2.*jobHandle"):
        parse_active_jobs(broken.encode())


@pytest.mark.parametrize(
    ("field", "bad"), [("progress", "half"), ("startDate", "yesterday"), ("totalSize", "1e400")]
)
def test_an_unreadable_value_rejects_the_whole_response(field: str, bad: str) -> None:
    body = sb.active_jobs_body([sb.active_job()]).decode()
    start = body.index(f"<{field}>") + len(field) + 2
    end = body.index(f"</{field}>")
    with pytest.raises(IpsResponseError, match="whole response was rejected"):
        parse_active_jobs((body[:start] + bad + body[end:]).encode())


def test_foreign_namespace_elements_are_ignored() -> None:
    body = sb.active_jobs_body([sb.active_job()]).decode()
    body = body.replace("<locale>", '<x:locale xmlns:x="urn:other">de-DE</x:locale><locale>')
    (job,) = parse_active_jobs(body.encode())
    assert job.locale == "fr-FR"


def test_of_two_elements_in_different_ips_namespaces_the_later_one_counts() -> None:
    body = sb.active_jobs_body([sb.active_job()]).decode()
    older = f'<name xmlns="{sb.IPS_NS}/2012-02-14">Older schema</name>'
    (later_wins,) = parse_active_jobs(body.replace("</locale>", f"</locale>{older}").encode())
    assert later_wins.name == "Older schema"
    (earlier,) = parse_active_jobs(
        body.replace("<companyHandle>", f"{older}<companyHandle>").encode()
    )
    assert earlier.name == "Nightly Publish"


def test_children_without_namespace_read_under_a_namespaced_item() -> None:
    body = sb.active_jobs_body([sb.active_job(), sb.active_job(job_handle="47|b|")]).decode()
    first_end = body.index("</items>")
    second = body[first_end:].replace("<locale>fr-FR</locale>", '<locale xmlns="">de-DE</locale>')
    first, other = parse_active_jobs((body[:first_end] + second).encode())
    assert (first.locale, other.locale) == ("fr-FR", "de-DE")


def test_zone_offsets_are_kept_as_aware_datetimes() -> None:
    (job,) = parse_active_jobs(sb.active_jobs_body([sb.active_job()]))
    assert job.start_date is not None
    assert job.start_date.utcoffset() == timedelta(hours=-7)
    assert job.start_date == sb.START


FAULTS = [
    ("authenticationFault", 10001, IpsAuthenticationFault, IpsPermanentError),
    ("authorizationFault", 20003, IpsAuthorizationFault, IpsPermanentError),
    ("ipsApiFault", 30000, IpsApiFault, IpsRetryableError),
]


@pytest.mark.parametrize(("family", "code", "cls", "kind"), FAULTS)
def test_every_fault_family_raises_its_typed_fault(
    family: str, code: int, cls: type[Exception], kind: type[Exception]
) -> None:
    body = sb.fault_body(family, code, "Something is wrong")
    for parse in (parse_active_jobs, parse_job_logs):
        with pytest.raises(cls) as caught:
            parse(body)
        assert isinstance(caught.value, kind)
        assert caught.value.family == family  # type: ignore[attr-defined]
        assert caught.value.code == code  # type: ignore[attr-defined]
        assert caught.value.reason == "Something is wrong"  # type: ignore[attr-defined]


def test_fault_detail_with_extra_elements_still_finds_the_family() -> None:
    body = sb.envelope(
        "<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>x</faultstring>"
        '<detail><ns2:hostname xmlns:ns2="http://xml.apache.org/axis/">h</ns2:hostname>'
        f'<authorizationFault xmlns="{sb.IPS_NS}/2014-04-03"><code>20000</code>'
        "<reason>Invalid company</reason></authorizationFault></detail></soapenv:Fault>"
    )
    with pytest.raises(IpsAuthorizationFault, match="Invalid company"):
        parse_active_jobs(body)


def test_a_fault_without_detail_is_a_retryable_api_fault() -> None:
    body = sb.envelope(
        "<soapenv:Fault><faultcode>soapenv:Server</faultcode>"
        "<faultstring>NullPointerException</faultstring></soapenv:Fault>"
    )
    with pytest.raises(IpsApiFault, match="NullPointerException"):
        parse_active_jobs(body)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (sb.HTML_PAGE, "HTML page"),
        (b"<html><body>Bad gateway</body></html>", "HTML page"),
        (b"<rss><channel/></rss>", "not a SOAP envelope"),
        (sb.active_jobs_body([sb.active_job()])[:-40], "truncated"),
        (b"\x89PNG\r\n", "XML"),
        (sb.active_jobs_body([])[:3], "XML"),
    ],
)
def test_broken_bodies_raise_a_clear_response_error(body: bytes, says: str) -> None:
    with pytest.raises(IpsResponseError, match=says):
        parse_active_jobs(body)


def test_a_job_logs_answer_is_not_taken_for_active_jobs() -> None:
    with pytest.raises(IpsResponseError, match="getActiveJobsReturn was expected"):
        parse_active_jobs(sb.job_logs_body([sb.job_log()]))


def test_xxe_file_entity_is_refused_and_never_read(tmp_path: object) -> None:
    with pytest.raises(IpsResponseError, match="DOCTYPE"):
        parse_active_jobs(sb.xxe_file_body("/etc/passwd"))


def test_xxe_network_entity_is_refused() -> None:
    with pytest.raises(IpsResponseError):
        parse_active_jobs(sb.xxe_network_body("http://127.0.0.1:9/evil.dtd"))


def test_billion_laughs_is_refused_quickly() -> None:
    with pytest.raises(IpsResponseError):
        parse_active_jobs(sb.billion_laughs_body())


def test_oversized_response_is_refused_before_parsing() -> None:
    body = sb.active_jobs_body([sb.active_job(job_handle=f"47|{n}|") for n in range(50)])
    with pytest.raises(IpsResponseError, match="over the 1000-byte limit"):
        parse_active_jobs(body, max_bytes=1000)


def test_booleans_read_in_both_lexical_forms() -> None:
    body = sb.job_logs_body([sb.job_log(fatal_error=True)]).decode()
    (log,) = parse_job_logs(body.replace(">true<", ">1<").encode())
    assert log.fatal_error is True
    with pytest.raises(IpsResponseError, match="xs:boolean"):
        parse_job_logs(body.replace(">true<", ">yes<").encode())


def test_utf16_encoded_response_reads() -> None:
    body = sb.active_jobs_body([sb.active_job(name="Ünïcode 日本")]).decode()
    body = body.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    (job,) = parse_active_jobs(body.encode("utf-16"))
    assert job.name == "Ünïcode 日本"


def test_zone_less_datetimes_are_utc() -> None:
    body = sb.active_jobs_body([sb.active_job()]).decode()
    body = body.replace(sb.START.isoformat(), "2026-03-14T22:04:58")
    (job,) = parse_active_jobs(body.encode())
    assert job.start_date == datetime(2026, 3, 14, 22, 4, 58, tzinfo=UTC)


def test_any_doctype_is_refused_even_without_entities() -> None:
    body = sb.active_jobs_body([sb.active_job()])
    with_doctype = body.replace(b"?>", b"?><!DOCTYPE soapenv:Envelope>", 1)
    with pytest.raises(IpsResponseError, match="DOCTYPE"):
        parse_active_jobs(with_doctype)
