"""The one place tests build SOAP bodies: sample jobs, IPS responses, faults, hostile input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from notifier.core.jobs import (
    ActiveJob,
    EmailSetting,
    JobDetail,
    JobDetailKind,
    JobLog,
    JobState,
    JobType,
    TaskItemProgress,
    TaskProgress,
    TaskState,
)
from notifier.sim import soap

IPS_NS = "http://www.scene7.com/IpsApi/xsd"
SOAP_ENV_NS = soap.SOAP_ENV_NS
VERSIONS = ("2008-01-15", "2012-02-14", "2014-04-03", "2022-11-01-beta")
# Every namespace the parser must accept: versioned, unversioned and none at all.
NAMESPACES = (*(f"{IPS_NS}/{v}" for v in VERSIONS), IPS_NS, "")

START = datetime(2026, 3, 14, 22, 4, 58, 536000, tzinfo=timezone(timedelta(hours=-7)))


def task_progress(**overrides: Any) -> TaskProgress:
    """One task of a running publish: 42 files done, one in work, 57 to go."""
    task = TaskProgress(
        task_type="ImageServingPublish",
        task_state=TaskState.PROCESSING,
        num_processed=42,
        num_processing=1,
        num_pending=57,
        progress=0.42,
        progress_message="Publishing 42 of 100",
        last_progress_update=START + timedelta(minutes=5),
        items=(
            TaskItemProgress(
                item_name="spring/hero-banner.tif",
                progress=0.5,
                progress_message="Generating pyramid",
                last_progress_update=START + timedelta(minutes=5, seconds=3),
            ),
        ),
    )
    return replace(task, **overrides)


def active_job(**overrides: Any) -> ActiveJob:
    """A realistic running publish job of the 2014-04-03 shape (job detail with its
    emailSetting, task progress); override any field by its model name."""
    job = ActiveJob(
        company_handle="47",
        job_handle="47|Nightly Publish|",
        name="Nightly Publish",
        original_name="Nightly Publish",
        type=JobType.IMAGE_SERVING_PUBLISH,
        state=JobState.RUNNING,
        submit_user_email="marie@example.com",
        locale="fr-FR",
        description="Publication de nuit",
        server_name="s7sps1",
        start_date=START,
        trigger_time=START,
        total_size=123_456_789,
        progress=42,
        progress_message="Publishing 42 of 100",
        last_progress_update=START + timedelta(minutes=5),
        type_raw="ImageServingPublish",
        state_raw="Running",
        task_progress=(task_progress(),),
        detail=JobDetail(JobDetailKind.IMAGE_SERVING_PUBLISH, EmailSetting.ERROR),
    )
    return replace(job, **overrides)


def job_log(**overrides: Any) -> JobLog:
    """A finished upload's log with warnings; override any field by its model name."""
    log = JobLog(
        company_handle="47",
        job_handle="47||Add_2007-09-14-15:04:34",
        job_name="Add_2007-09-14-15:04:34",
        original_job_name="Add_2007-09-14-15:04:34",
        submit_user_email="someone@example.com",
        log_type="UploadWarning",
        job_sub_type="UrlUpload",
        start_date=START,
        end_date=START + timedelta(minutes=12),
        description="",
        file_success_count=2,
        file_error_count=0,
        file_warning_count=205,
        file_duplicate_count=1,
        file_update_count=3,
        total_file_count=207,
        transfer_success_count=207,
        transfer_error_count=0,
        transfer_warning_count=0,
        fatal_error=False,
    )
    return replace(log, **overrides)


def active_jobs_body(jobs: list[ActiveJob], namespace: str = f"{IPS_NS}/2014-04-03") -> bytes:
    return soap.active_jobs_response(jobs, namespace)


def active_jobs_body_prefixed(jobs: list[ActiveJob], namespace: str) -> bytes:
    """As other SOAP stacks write it: every IPS element prefixed (`ns1:items`)."""
    return soap.active_jobs_response(jobs, namespace, prefix="ns1")


def job_logs_body(logs: list[JobLog], namespace: str = f"{IPS_NS}/2014-04-03") -> bytes:
    return soap.job_logs_response(logs, namespace)


def fault_body(family: str, code: int, reason: str) -> bytes:
    return soap.fault_response(family, code, reason)


def envelope(body_xml: str) -> bytes:
    return soap.envelope(body_xml)


def hand_written_active_jobs(namespace: str) -> bytes:
    """Two jobs as a real server might format them: prefixes, indentation, a zone-less
    dateTime, an unknown element, an empty locale and a type outside the reference."""
    xmlns = f' xmlns:ips="{namespace}"' if namespace else ""
    p = "ips:" if namespace else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soapenv:Header/>
  <soapenv:Body>
    <{p}getActiveJobsReturn{xmlns}>
      <{p}jobArray>
        <{p}items>
          <{p}companyHandle>47</{p}companyHandle>
          <{p}jobHandle>47|Upload Spring|</{p}jobHandle>
          <{p}name>Upload Spring</{p}name>
          <{p}originalName>Upload Spring</{p}originalName>
          <{p}type>UrlUpload</{p}type>
          <{p}state>WaitingCoordinator</{p}state>
          <{p}submitUserEmail>yuki@example.com</{p}submitUserEmail>
          <{p}locale>ja-JP</{p}locale>
          <{p}serverName>s7sps5</{p}serverName>
          <{p}startDate>2007-09-14T22:04:58.536-07:00</{p}startDate>
          <{p}totalSize>2048</{p}totalSize>
          <{p}progress>0</{p}progress>
          <{p}progressMessage>Waiting</{p}progressMessage>
          <{p}lastProgressUpdate>2007-09-14T22:04:58</{p}lastProgressUpdate>
          <{p}someFutureField>ignored</{p}someFutureField>
          <{p}taskProgressArray><{p}items><{p}taskType>Upload</{p}taskType>
            <{p}progress>0.0</{p}progress></{p}items></{p}taskProgressArray>
        </{p}items>
        <{p}items>
          <{p}companyHandle>47</{p}companyHandle>
          <{p}jobHandle>47|Nouveau|</{p}jobHandle>
          <{p}name>Nouveau &amp; amélioré</{p}name>
          <{p}type>HoloDeckPublish</{p}type>
          <{p}state>Running</{p}state>
          <{p}locale/>
          <{p}progress>75</{p}progress>
        </{p}items>
      </{p}jobArray>
    </{p}getActiveJobsReturn>
  </soapenv:Body>
</soapenv:Envelope>""".encode()


def bare_fault_body(family: str = "authenticationFault", code: int = 10001) -> bytes:
    """A fault document without an envelope, as the upload servlet answers (with HTTP 200)."""
    return (
        f'<tns:{family} xmlns:tns="{IPS_NS}"><tns:code>{code}</tns:code>'
        f"<tns:reason>Invalid username/password</tns:reason></tns:{family}>"
    ).encode()


def job_with_detail(kind: JobDetailKind, detail_xml: str, type_raw: str, ns: str) -> bytes:
    """One 2014-04-03 job whose detail element is `detail_xml` and whose type is `type_raw`."""
    return envelope(
        f'<getActiveJobsReturn xmlns="{ns}"><jobArray><items>'
        "<companyHandle>c|47</companyHandle><jobHandle>j|47||export_2026-11-24|5129821</jobHandle>"
        f"<name>Job of kind {kind.value}</name><originalName>n</originalName>"
        f"<type>{type_raw}</type><state>Running</state>"
        "<submitUserEmail>ana@example.com</submitUserEmail><serverName>s7</serverName>"
        "<startDate>2026-11-24T10:15:30.123000-08:00</startDate>"
        "<triggerTime>2026-11-24T10:16:01-08:00</triggerTime><totalSize>1</totalSize>"
        "<progress>5</progress><progressMessage>m</progressMessage>"
        "<lastProgressUpdate>2026-11-24T10:16:01-08:00</lastProgressUpdate>"
        f"<taskProgressArray/>{detail_xml}</items></jobArray></getActiveJobsReturn>"
    )


def xxe_file_body(path: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{path}">]>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
        f'<getActiveJobsReturn xmlns="{IPS_NS}"><jobArray><items>'
        "<companyHandle>47</companyHandle><jobHandle>&x;</jobHandle><name>n</name>"
        "<state>New</state></items></jobArray></getActiveJobsReturn>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def xxe_network_body(url: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % x SYSTEM "{url}"> %x;]>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
        f'<getActiveJobsReturn xmlns="{IPS_NS}"><jobArray/></getActiveJobsReturn>'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def billion_laughs_body() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [{entities}]>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
        f'<getActiveJobsReturn xmlns="{IPS_NS}"><jobArray><items>'
        "<companyHandle>47</companyHandle><jobHandle>&lol9;</jobHandle><name>n</name>"
        "<state>New</state></items></jobArray></getActiveJobsReturn>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>Maintenance<br></p></body></html>"
)


def now() -> datetime:
    return datetime.now(UTC)
