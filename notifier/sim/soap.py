"""The simulator's side of the SOAP wire: ActiveJob, JobLog and Fault to XML bytes.

Owns the serialisation of every field of the ActiveJob and JobLog tables in ips-api.md, in
schema order, including the parts the notifier's models do not keep (taskProgressArray, the
job-kind element with its emailSetting, detailArray), so that client and simulator agree on
the whole shape. Built as text for speed (10,000 jobs per answer); never parses anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
IPS_NS = "http://www.scene7.com/IpsApi/xsd"

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})

# The job-kind element ActiveJob carries for each type, and what it publishes or uploads.
_KIND_ELEMENT: dict[JobType, str] = {
    JobType.IMAGE_SERVING_PUBLISH: "imageServingPublishJob",
    JobType.IMAGE_RENDERING_PUBLISH: "imageServingRenderJob",
    JobType.VIDEO_PUBLISH: "videoPublishJob",
    JobType.SERVER_DIRECTORY_PUBLISH: "serverDirectoryPublishJob",
    JobType.SERVER_DIRECTORY_PUBLISH_WITH_TEMPLATE: "serverDirectoryPublishJob",
    JobType.UPLOAD_FROM_SERVER_DIRECTORY: "uploadPostJob",
    JobType.URL_UPLOAD: "uploadUrlsJob",
    JobType.METADATA_UPLOAD: "uploadPostJob",
    JobType.IMAGE_OPTIMIZATION: "optimizeImagesJob",
    JobType.CLEANUP: "reprocessAssetsJob",
}
_EMAIL_SETTINGS = ("All", "Error", "ErrorAndWarning", "JobCompletion", "None")
_TASK_STATE: dict[JobState, str] = {
    JobState.NEW: "New",
    JobState.WAITING_CLIENT: "New",
    JobState.WAITING_COORDINATOR: "New",
    JobState.RUNNING: "Processing",
    JobState.STOPPING: "Stopping",
    JobState.DONE: "Done",
}


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


def _date(name: str, value: datetime | None) -> str:
    return "" if value is None else f"<{name}>{value.isoformat()}</{name}>"


def _task_progress(job: ActiveJob) -> str:
    progress = job.progress or 0
    total = max(job.total_size or 0, 0) // 1_000_000 or 10
    processed = total * progress // 100
    processing = 0 if job.state is not JobState.RUNNING else min(1, total - processed)
    return (
        "<taskProgressArray><items>"
        f"<taskType>{escape(job.type_raw or job.type.value)}</taskType>"
        f"<taskState>{_TASK_STATE.get(job.state, 'Unknown')}</taskState>"
        f"<numProcessed>{processed}</numProcessed><numProcessing>{processing}</numProcessing>"
        f"<numPending>{total - processed - processing}</numPending>"
        f"<progress>{progress / 100:.2f}</progress>"
        f"{_el('progressMessage', job.progress_message)}"
        f"{_date('lastProgressUpdate', job.last_progress_update)}"
        "</items></taskProgressArray>"
    )


def _kind(job: ActiveJob) -> str:
    element = _KIND_ELEMENT.get(job.type)
    if element is None:
        return ""
    setting = _EMAIL_SETTINGS[len(job.job_handle) % len(_EMAIL_SETTINGS)]
    return f"<{element}><emailSetting>{setting}</emailSetting></{element}>"


def active_job_xml(job: ActiveJob) -> str:
    """One `items` element, every ActiveJob field in schema order."""
    return "".join(
        (
            "<items>",
            _el("companyHandle", job.company_handle),
            _el("jobHandle", job.job_handle),
            _el("name", job.name),
            _el("originalName", job.original_name),
            _el("type", job.type_raw or job.type.value),
            _el("state", job.state_raw or job.state.value),
            _el("submitUserEmail", job.submit_user_email),
            _el("locale", job.locale),
            _el("description", job.description),
            _el("serverName", job.server_name),
            _date("startDate", job.start_date),
            _date("triggerTime", job.trigger_time),
            _num("totalSize", job.total_size),
            _num("progress", job.progress),
            _el("progressMessage", job.progress_message),
            _date("lastProgressUpdate", job.last_progress_update),
            _task_progress(job),
            _kind(job),
            "</items>",
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


def _xmlns(namespace: str) -> str:
    return f' xmlns="{escape(namespace)}"' if namespace else ""


def active_jobs_response(jobs: Iterable[ActiveJob], namespace: str = IPS_NS) -> bytes:
    return active_jobs_envelope("".join(active_job_xml(job) for job in jobs), namespace)


def active_jobs_envelope(items: str, namespace: str = IPS_NS) -> bytes:
    """A getActiveJobs answer around already serialised `items` (the simulator caches them)."""
    return envelope(
        f"<getActiveJobsReturn{_xmlns(namespace)}><jobArray>{items}</jobArray>"
        "</getActiveJobsReturn>"
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
