"""Typed, frozen values of IPS jobs as this project sees them: ActiveJob, JobLog and their enums.

Owns the vocabulary of IPS as this project sees it, as the 2014-04-03 schema types it: the
job's kind from its job-detail element, the `emailSetting` IPS mails by, and per-task progress.
Never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast


class JobState(StrEnum):
    """ActiveJob/state. `UNRECOGNIZED` stands for any value outside the IPS reference."""

    UNKNOWN = "Unknown"
    NEW = "New"
    WAITING_CLIENT = "WaitingClient"
    WAITING_COORDINATOR = "WaitingCoordinator"
    RUNNING = "Running"
    STOPPING = "Stopping"
    DONE = "Done"
    UNRECOGNIZED = "Unrecognized"

    @classmethod
    def parse(cls, value: str | None) -> JobState:
        try:
            return cls(value or "")
        except ValueError:
            return cls.UNRECOGNIZED


class JobType(StrEnum):
    """ActiveJob/type. `UNRECOGNIZED` stands for any value outside the IPS reference."""

    IMAGE_SERVING_PUBLISH = "ImageServingPublish"
    IMAGE_RENDERING_PUBLISH = "ImageRenderingPublish"
    SERVER_DIRECTORY_PUBLISH = "ServerDirectoryPublish"
    SERVER_DIRECTORY_PUBLISH_WITH_TEMPLATE = "ServerDirectoryPublishWithTemplate"
    VIDEO_PUBLISH = "VideoPublish"
    UPLOAD_FROM_SERVER_DIRECTORY = "UploadFromServerDirectory"
    URL_UPLOAD = "UrlUpload"
    METADATA_UPLOAD = "MetadataUpload"
    IMAGE_OPTIMIZATION = "ImageOptimization"
    CLEANUP = "Cleanup"
    # Kinds named only by their job-detail element (2014-04-03); the values are ours.
    METADATA_PUBLISH = "MetadataPublish"
    UPLOAD_POST = "UploadPost"
    RIP_PDFS = "RipPdfs"
    REPROCESS_ASSETS = "ReprocessAssets"
    CREATE_VIDEO_SITEMAP = "CreateVideoSitemap"
    EXPORT = "Export"
    AUTOMATED_SET_GENERATION = "AutomatedSetGeneration"
    UNRECOGNIZED = "Unrecognized"

    @classmethod
    def parse(cls, value: str | None) -> JobType:
        try:
            return cls(value or "")
        except ValueError:
            return cls.UNRECOGNIZED


class JobDetailKind(StrEnum):
    """Which of the 14 job-detail elements of a 2014-04-03 ActiveJob it carries."""

    IMAGE_SERVING_PUBLISH = "imageServingPublishJob"
    IMAGE_RENDERING_PUBLISH = "imageRenderingPublishJob"
    VIDEO_PUBLISH = "videoPublishJob"
    SERVER_DIRECTORY_PUBLISH = "serverDirectoryPublishJob"
    METADATA_PUBLISH = "metadataPublishJob"
    UPLOAD_DIRECTORY = "uploadDirectoryJob"
    UPLOAD_URLS = "uploadUrlsJob"
    UPLOAD_POST = "uploadPostJob"
    OPTIMIZE_IMAGES = "optimizeImagesJob"
    RIP_PDFS = "ripPdfsJob"
    REPROCESS_ASSETS = "reprocessAssetsJob"
    CREATE_VIDEO_SITEMAP = "createVideoSitemapJob"
    EXPORT = "exportJob"
    AUTOMATED_SET_GENERATION = "automatedSetGenerationJob"


class EmailSetting(StrEnum):
    """A job-detail's `emailSetting`: what IPS itself mails the submitter at completion."""

    ALL = "All"
    ERROR = "Error"
    ERROR_AND_WARNING = "ErrorAndWarning"
    JOB_COMPLETION = "JobCompletion"
    NONE = "None"
    UNRECOGNIZED = "Unrecognized"

    @classmethod
    def parse(cls, value: str | None) -> EmailSetting:
        try:
            return cls(value or "")
        except ValueError:
            return cls.UNRECOGNIZED


class TaskState(StrEnum):
    """TaskProgress/taskState. `UNRECOGNIZED` stands for any value outside the schema."""

    UNKNOWN = "Unknown"
    NEW = "New"
    PROCESSING = "Processing"
    STOPPING = "Stopping"
    DONE = "Done"
    FAILED = "Failed"
    UNRECOGNIZED = "Unrecognized"

    @classmethod
    def parse(cls, value: str | None) -> TaskState:
        try:
            return cls(value or "")
        except ValueError:
            return cls.UNRECOGNIZED


# The kind a job-detail element stands for, where ActiveJob/type is not a reference value.
DETAIL_JOB_TYPES: dict[JobDetailKind, JobType] = {
    JobDetailKind.IMAGE_SERVING_PUBLISH: JobType.IMAGE_SERVING_PUBLISH,
    JobDetailKind.IMAGE_RENDERING_PUBLISH: JobType.IMAGE_RENDERING_PUBLISH,
    JobDetailKind.VIDEO_PUBLISH: JobType.VIDEO_PUBLISH,
    JobDetailKind.SERVER_DIRECTORY_PUBLISH: JobType.SERVER_DIRECTORY_PUBLISH,
    JobDetailKind.METADATA_PUBLISH: JobType.METADATA_PUBLISH,
    JobDetailKind.UPLOAD_DIRECTORY: JobType.UPLOAD_FROM_SERVER_DIRECTORY,
    JobDetailKind.UPLOAD_URLS: JobType.URL_UPLOAD,
    JobDetailKind.UPLOAD_POST: JobType.UPLOAD_POST,
    JobDetailKind.OPTIMIZE_IMAGES: JobType.IMAGE_OPTIMIZATION,
    JobDetailKind.RIP_PDFS: JobType.RIP_PDFS,
    JobDetailKind.REPROCESS_ASSETS: JobType.REPROCESS_ASSETS,
    JobDetailKind.CREATE_VIDEO_SITEMAP: JobType.CREATE_VIDEO_SITEMAP,
    JobDetailKind.EXPORT: JobType.EXPORT,
    JobDetailKind.AUTOMATED_SET_GENERATION: JobType.AUTOMATED_SET_GENERATION,
}
# metadataPublishJob and createVideoSitemapJob hold no emailSetting; the other 12 must.
KINDS_WITHOUT_EMAIL = frozenset(
    {JobDetailKind.METADATA_PUBLISH, JobDetailKind.CREATE_VIDEO_SITEMAP}
)


def job_type_of(type_raw: str, detail: JobDetail | None) -> JobType:
    """The job's kind: ActiveJob/type where it is a reference value, else its detail's."""
    parsed = JobType.parse(type_raw)
    if parsed is JobType.UNRECOGNIZED and detail is not None:
        return DETAIL_JOB_TYPES[detail.kind]
    return parsed


@dataclass(frozen=True, slots=True)
class JobDetail:
    """The job-detail element: its kind, and the email IPS sends at completion (None for the
    two kinds that have no emailSetting, or where an older version leaves it out)."""

    kind: JobDetailKind
    email_setting: EmailSetting | None = None


@dataclass(frozen=True, slots=True)
class TaskItemProgress:
    """TaskProgress/taskItemProgressArray/items: one item a task is working on."""

    item_name: str | None = None
    progress: float | None = None  # xsd:double, 0.0-1.0
    progress_message: str | None = None
    last_progress_update: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """ActiveJob/taskProgressArray/items: the files of one task, processed, in work, pending."""

    task_type: str | None = None
    task_state: TaskState | None = None  # absent before 2014-04-03
    num_processed: int | None = None
    num_processing: int | None = None
    num_pending: int | None = None
    progress: float | None = None  # xsd:double, 0.0-1.0
    progress_message: str | None = None
    last_progress_update: datetime | None = None
    items: tuple[TaskItemProgress, ...] = ()


@dataclass(frozen=True, slots=True)
class ActiveJob:
    """One `items` element of getActiveJobs, fields in schema order.

    `type_raw` and `state_raw` keep the text IPS sent, so an unrecognized value is still
    shown to people and logged as it was; where it is not a reference value, `type` comes
    from `detail` (an `exportJob` is an Export).
    """

    company_handle: str
    job_handle: str
    name: str
    original_name: str | None
    type: JobType
    state: JobState
    submit_user_email: str | None
    locale: str | None
    description: str | None
    server_name: str | None
    start_date: datetime | None
    trigger_time: datetime | None
    total_size: int | None
    progress: int | None
    progress_message: str | None
    last_progress_update: datetime | None
    type_raw: str = ""
    state_raw: str = ""
    task_progress: tuple[TaskProgress, ...] = ()
    detail: JobDetail | None = None


@dataclass(frozen=True, slots=True)
class JobLog:
    """One `items` element of getJobLogs: what became of a job that left the active list."""

    company_handle: str
    job_handle: str
    job_name: str
    original_job_name: str | None
    submit_user_email: str | None
    log_type: str | None
    job_sub_type: str | None
    start_date: datetime | None
    end_date: datetime | None
    description: str | None
    file_success_count: int | None
    file_error_count: int | None
    file_warning_count: int | None
    file_duplicate_count: int | None
    file_update_count: int | None
    total_file_count: int | None
    transfer_success_count: int | None
    transfer_error_count: int | None
    transfer_warning_count: int | None
    fatal_error: bool | None


# The parser's hot loop builds ten thousand ActiveJobs per poll. A frozen dataclass's __init__
# pays one object.__setattr__ call per field (20 here), about two thirds of the cost of
# making one. A plain slotted twin with the same slots, in the same order, is filled with
# ordinary attribute stores and then given ActiveJob's class: the object is an ActiveJob in
# every respect (type, equality, hash, repr, frozen), only cheaper to make. The twin is made
# from ActiveJob's own fields, so the two layouts cannot drift apart.
_ActiveJobDraft = make_dataclass(
    "_ActiveJobDraft",
    [(f.name, f.type, field(default=f.default)) for f in fields(ActiveJob)],
    slots=True,
    eq=False,
    repr=False,
)


def new_active_job(
    company_handle: str,
    job_handle: str,
    name: str,
    original_name: str | None,
    type: JobType,
    state: JobState,
    submit_user_email: str | None,
    locale: str | None,
    description: str | None,
    server_name: str | None,
    start_date: datetime | None,
    trigger_time: datetime | None,
    total_size: int | None,
    progress: int | None,
    progress_message: str | None,
    last_progress_update: datetime | None,
    type_raw: str,
    state_raw: str,
    task_progress: tuple[TaskProgress, ...] = (),
    detail: JobDetail | None = None,
) -> ActiveJob:
    """`ActiveJob(...)` with the same positional arguments, about three times cheaper."""
    job = _ActiveJobDraft(
        company_handle,
        job_handle,
        name,
        original_name,
        type,
        state,
        submit_user_email,
        locale,
        description,
        server_name,
        start_date,
        trigger_time,
        total_size,
        progress,
        progress_message,
        last_progress_update,
        type_raw,
        state_raw,
        task_progress,
        detail,
    )
    job.__class__ = ActiveJob
    return cast(ActiveJob, job)


# The same for the nested values the parser makes per job (a task, the item it works on).
_TaskProgressDraft = make_dataclass(
    "_TaskProgressDraft",
    [(f.name, f.type, field(default=f.default)) for f in fields(TaskProgress)],
    slots=True,
    eq=False,
    repr=False,
)
_TaskItemProgressDraft = make_dataclass(
    "_TaskItemProgressDraft",
    [(f.name, f.type, field(default=f.default)) for f in fields(TaskItemProgress)],
    slots=True,
    eq=False,
    repr=False,
)


def new_task_progress(
    task_type: str | None,
    task_state: TaskState | None,
    num_processed: int | None,
    num_processing: int | None,
    num_pending: int | None,
    progress: float | None,
    progress_message: str | None,
    last_progress_update: datetime | None,
    items: tuple[TaskItemProgress, ...],
) -> TaskProgress:
    """`TaskProgress(...)` with the same positional arguments, cheaper."""
    task = _TaskProgressDraft(
        task_type,
        task_state,
        num_processed,
        num_processing,
        num_pending,
        progress,
        progress_message,
        last_progress_update,
        items,
    )
    task.__class__ = TaskProgress
    return cast(TaskProgress, task)


def new_task_item(
    item_name: str | None,
    progress: float | None,
    progress_message: str | None,
    last_progress_update: datetime | None,
) -> TaskItemProgress:
    """`TaskItemProgress(...)` with the same positional arguments, cheaper."""
    item = _TaskItemProgressDraft(item_name, progress, progress_message, last_progress_update)
    item.__class__ = TaskItemProgress
    return cast(TaskItemProgress, item)
