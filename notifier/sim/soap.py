"""The simulator's side of the SOAP wire: ActiveJob, JobLog and Fault to XML bytes.

Owns the serialisation of every field of the 2014-04-03 ActiveJob and of JobLog, in schema
order: the task progress with its item progress, the job-detail element with its
emailSetting, the job log's detailArray; unprefixed (a default namespace) or prefixed, as
other SOAP stacks write them. Client and simulator agree on the whole shape. Built as text
for speed (100,000 jobs per answer); never parses anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from notifier.core.jobs import ActiveJob, JobDetail, JobLog, TaskItemProgress, TaskProgress

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
IPS_NS = "http://www.scene7.com/IpsApi/xsd"

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def escape(text: str) -> str:
    """Text content escaping; `\\r` too, so it survives XML line-end normalisation."""
    return text.translate(_ESCAPES)


def _el(name: str, value: str | None) -> str:
    if value is None:
        return ""
    if not value:
        return f"<{name}/>"
    return f"<{name}>{escape(value)}</{name}>"


def _num(name: str, value: int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"<{name}>{'true' if value else 'false'}</{name}>"
    return f"<{name}>{value}</{name}>"


def _double(name: str, value: float | None) -> str:
    if value is None:
        return ""
    text = {math.inf: "INF", -math.inf: "-INF"}.get(value, repr(value))
    return f"<{name}>{'NaN' if math.isnan(value) else text}</{name}>"


def _date(name: str, value: datetime | None) -> str:
    return "" if value is None else f"<{name}>{value.isoformat()}</{name}>"


def _item_progress(item: TaskItemProgress, p: str) -> str:
    return "".join(
        (
            f"<{p}items>",
            _el(f"{p}itemName", item.item_name),
            _double(f"{p}progress", item.progress),
            _el(f"{p}progressMessage", item.progress_message),
            _date(f"{p}lastProgressUpdate", item.last_progress_update),
            f"</{p}items>",
        )
    )


def _task(task: TaskProgress, p: str) -> str:
    return "".join(
        (
            f"<{p}items>",
            _el(f"{p}taskType", task.task_type),
            _el(f"{p}taskState", None if task.task_state is None else task.task_state.value),
            _num(f"{p}numProcessed", task.num_processed),
            _num(f"{p}numProcessing", task.num_processing),
            _num(f"{p}numPending", task.num_pending),
            _double(f"{p}progress", task.progress),
            _el(f"{p}progressMessage", task.progress_message),
            _date(f"{p}lastProgressUpdate", task.last_progress_update),
            f"<{p}taskItemProgressArray>",
            *(_item_progress(item, p) for item in task.items),
            f"</{p}taskItemProgressArray>",
            f"</{p}items>",
        )
    )


def _task_progress(job: ActiveJob, p: str) -> str:
    tasks = "".join(_task(task, p) for task in job.task_progress)
    return f"<{p}taskProgressArray>{tasks}</{p}taskProgressArray>"


def _detail(detail: JobDetail | None, p: str) -> str:
    if detail is None:
        return ""
    name = f"{p}{detail.kind.value}"
    setting = detail.email_setting
    # publishType and the like come first in the schema; the notifier reads emailSetting only.
    first = f"<{p}publishType>Full</{p}publishType>" if "Publish" in detail.kind.value else ""
    email = "" if setting is None else _el(f"{p}emailSetting", setting.value)
    return f"<{name}>{first}{email}</{name}>"


def active_job_xml(job: ActiveJob, prefix: str = "") -> str:
    """One `items` element, every ActiveJob field in schema order; `prefix` ("ns1") writes
    every element prefixed, as other SOAP stacks do."""
    p = f"{prefix}:" if prefix else ""
    return "".join(
        (
            f"<{p}items>",
            _el(f"{p}companyHandle", job.company_handle),
            _el(f"{p}jobHandle", job.job_handle),
            _el(f"{p}name", job.name),
            _el(f"{p}originalName", job.original_name),
            _el(f"{p}type", job.type_raw or job.type.value),
            _el(f"{p}state", job.state_raw or job.state.value),
            _el(f"{p}submitUserEmail", job.submit_user_email),
            _el(f"{p}locale", job.locale),
            _el(f"{p}description", job.description),
            _el(f"{p}serverName", job.server_name),
            _date(f"{p}startDate", job.start_date),
            _date(f"{p}triggerTime", job.trigger_time),
            _num(f"{p}totalSize", job.total_size),
            _num(f"{p}progress", job.progress),
            _el(f"{p}progressMessage", job.progress_message),
            _date(f"{p}lastProgressUpdate", job.last_progress_update),
            _task_progress(job, p),
            _detail(job.detail, p),
            f"</{p}items>",
        )
    )


def _details(log: JobLog) -> tuple[int, str]:
    rows: list[tuple[str, str]] = []
    if log.fatal_error:
        rows.append(("FatalError", "The job stopped on a fatal error."))
    if log.file_error_count:
        rows.append(("Error", f"{log.file_error_count} file(s) could not be processed."))
    if log.file_warning_count:
        rows.append(("Warning", f"{log.file_warning_count} file(s) processed with warnings."))
    items = "".join(
        f"<items><logMessage>{escape(message)}</logMessage><logType>{kind}</logType>"
        f"<assetName>asset-{n}.jpg</assetName><assetType>Image</assetType>"
        f"<assetHandle>a|{n}|{escape(log.company_handle)}</assetHandle></items>"
        for n, (kind, message) in enumerate(rows, start=1)
    )
    return len(rows), f"<detailArray>{items}</detailArray>"


def job_log_xml(log: JobLog) -> str:
    """One `items` element, every JobLog field in schema order."""
    total_rows, details = _details(log)
    return "".join(
        (
            "<items>",
            _el("companyHandle", log.company_handle),
            _el("jobHandle", log.job_handle),
            _el("jobName", log.job_name),
            _el("originalJobName", log.original_job_name),
            _el("submitUserEmail", log.submit_user_email),
            _el("logType", log.log_type),
            _el("jobSubType", log.job_sub_type),
            _date("startDate", log.start_date),
            _date("endDate", log.end_date),
            _el("description", log.description),
            _num("fileSuccessCount", log.file_success_count),
            _num("fileErrorCount", log.file_error_count),
            _num("fileWarningCount", log.file_warning_count),
            _num("fileDuplicateCount", log.file_duplicate_count),
            _num("fileUpdateCount", log.file_update_count),
            _num("totalFileCount", log.total_file_count),
            _num("transferSuccessCount", log.transfer_success_count),
            _num("transferErrorCount", log.transfer_error_count),
            _num("transferWarningCount", log.transfer_warning_count),
            _num("fatalError", log.fatal_error),
            f"<detailTotalRows>{total_rows}</detailTotalRows>",
            details,
            "</items>",
        )
    )


def envelope(body_xml: str) -> bytes:
    """A SOAP 1.1 envelope around an already serialised body element."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
        f"{body_xml}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _xmlns(namespace: str, prefix: str = "") -> str:
    if not namespace:
        return ""
    return f' xmlns{":" + prefix if prefix else ""}="{escape(namespace)}"'


def active_jobs_response(
    jobs: Iterable[ActiveJob], namespace: str = IPS_NS, prefix: str = ""
) -> bytes:
    """A getActiveJobs answer; `prefix` writes every IPS element prefixed (not without a
    namespace, where there is nothing to bind a prefix to)."""
    prefix = prefix if namespace else ""
    items = "".join(active_job_xml(job, prefix) for job in jobs)
    return active_jobs_envelope(items, namespace, prefix)


def active_jobs_envelope(items: str, namespace: str = IPS_NS, prefix: str = "") -> bytes:
    """A getActiveJobs answer around already serialised `items` (the simulator caches them),
    written with `prefix` (or unprefixed, in a default namespace)."""
    p = f"{prefix}:" if prefix and namespace else ""
    return envelope(
        f"<{p}getActiveJobsReturn{_xmlns(namespace, prefix if p else '')}><{p}jobArray>"
        f"{items}</{p}jobArray></{p}getActiveJobsReturn>"
    )


def job_logs_response(logs: Iterable[JobLog], namespace: str = IPS_NS) -> bytes:
    items = "".join(job_log_xml(log) for log in logs)
    return envelope(
        f"<getJobLogsReturn{_xmlns(namespace)}><jobLogArray>{items}</jobLogArray>"
        "</getJobLogsReturn>"
    )


def fault_response(family: str, code: int, reason: str, faultstring: str = "") -> bytes:
    """A soapenv:Fault whose detail holds one fault family element, as IPS sends them."""
    faultcode = "soapenv:Client" if family != "ipsApiFault" else "soapenv:Server"
    exception = faultstring or {
        "authenticationFault": "AuthenticationException",
        "authorizationFault": "AuthorizationException",
    }.get(family, "IpsApiException")
    return envelope(
        f"<soapenv:Fault><faultcode>{faultcode}</faultcode>"
        f"<faultstring>{escape(exception)}</faultstring><detail>"
        f'<ns1:{family} xmlns:ns1="{IPS_NS}"><code>{code}</code>'
        f"<reason>{escape(reason)}</reason></ns1:{family}></detail></soapenv:Fault>"
    )
