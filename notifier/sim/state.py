"""The simulator's world: active jobs per company and the job logs of finished ones.

Owns every change a job can go through (add, update, finish with an outcome, remove) and the
queries the SOAP handlers answer. Takes its clock as an argument; never does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from notifier.core.jobs import (
    DETAIL_JOB_TYPES,
    KINDS_WITHOUT_EMAIL,
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
    job_type_of,
)
from notifier.sim import soap

JobKey = tuple[str, str]
Clock = Callable[[], datetime]

_ACTIVE_FIELDS = frozenset(f.name for f in fields(ActiveJob))
_UPLOAD_TYPES = frozenset(
    {
        JobType.URL_UPLOAD,
        JobType.UPLOAD_FROM_SERVER_DIRECTORY,
        JobType.METADATA_UPLOAD,
        JobType.UPLOAD_POST,
    }
)
# The job-detail element IPS writes for each kind of job.
_DETAIL_KINDS: dict[JobType, JobDetailKind] = {
    **{job_type: kind for kind, job_type in DETAIL_JOB_TYPES.items()},
    JobType.SERVER_DIRECTORY_PUBLISH_WITH_TEMPLATE: JobDetailKind.SERVER_DIRECTORY_PUBLISH,
    JobType.METADATA_UPLOAD: JobDetailKind.UPLOAD_POST,
    JobType.CLEANUP: JobDetailKind.REPROCESS_ASSETS,
}
_EMAIL_SETTINGS = tuple(s for s in EmailSetting if s is not EmailSetting.UNRECOGNIZED)
_TASK_STATES: dict[JobState, TaskState] = {
    JobState.NEW: TaskState.NEW,
    JobState.WAITING_CLIENT: TaskState.NEW,
    JobState.WAITING_COORDINATOR: TaskState.NEW,
    JobState.RUNNING: TaskState.PROCESSING,
    JobState.STOPPING: TaskState.STOPPING,
    JobState.DONE: TaskState.DONE,
}
# Jobs the real service may leave out unless asked for with includeWaitingJobs.
WAITING_STATES = frozenset({JobState.NEW, JobState.WAITING_CLIENT, JobState.WAITING_COORDINATOR})


class SimError(Exception):
    """A control request the simulator cannot honour (unknown job, bad field)."""


class Outcome(StrEnum):
    """How a finished job's log reads."""

    SUCCEEDED = "succeeded"
    WARNINGS = "warnings"
    FAILED = "failed"  # files in error (fileErrorCount > 0)
    FATAL = "fatal"  # fatalError = true
    STOPPED = "stopped"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class SimJob:
    """An active job plus its cached XML (jobs are frozen; the cache follows replacement)."""

    job: ActiveJob
    xml: str = ""

    def set(self, job: ActiveJob) -> None:
        self.job = job
        self.xml = ""

    def to_xml(self, prefix: str = "") -> str:
        if prefix:
            return soap.active_job_xml(self.job, prefix)
        if not self.xml:
            self.xml = soap.active_job_xml(self.job)
        return self.xml


@dataclass(slots=True)
class SimState:
    companies: list[str]
    clock: Clock = utc_now
    jobs: dict[JobKey, SimJob] = field(default_factory=dict)
    logs: list[JobLog] = field(default_factory=list)
    _counter: int = 0

    def new_job(self, **values: Any) -> ActiveJob:
        """An ActiveJob from model-named fields; anything left out gets a plausible default."""
        unknown = set(values) - _ACTIVE_FIELDS
        if unknown:
            raise SimError(f"unknown ActiveJob fields: {sorted(unknown)}")
        self._counter += 1
        now = self.clock()
        company = str(values.get("company_handle") or self.companies[0])
        name = str(values.get("name") or f"Job {self._counter}")
        type_raw = str(values.get("type_raw") or values.get("type") or "ImageServingPublish")
        state_raw = str(values.get("state_raw") or values.get("state") or "New")
        job = ActiveJob(
            company_handle=company,
            job_handle=f"{company}|{name}|",
            name=name,
            original_name=name,
            type=JobType.parse(type_raw),
            state=JobState.parse(state_raw),
            submit_user_email="demo@example.com",
            locale="en-US",
            description=None,
            server_name="sim-1",
            start_date=now,
            trigger_time=now,
            total_size=10_000_000,
            progress=0,
            progress_message="",
            last_progress_update=now,
            type_raw=type_raw,
            state_raw=state_raw,
        )
        rest = {k: v for k, v in values.items() if k not in ("type", "state", "type_raw")}
        rest.pop("state_raw", None)
        job = replace(job, **_coerce(rest))
        if "detail" not in values:
            job = replace(job, detail=detail_for(job))
        job = replace(job, type=job_type_of(type_raw, job.detail))
        return job if "task_progress" in values else with_task_progress(job)

    def add_job(self, job: ActiveJob) -> ActiveJob:
        key = (job.company_handle, job.job_handle)
        if job.company_handle not in self.companies:
            self.companies.append(job.company_handle)
        self.jobs[key] = SimJob(job)
        return job

    def get(self, company: str, handle: str) -> ActiveJob:
        return self._sim_job(company, handle).job

    def update_job(self, company: str, handle: str, **values: Any) -> ActiveJob:
        """Change fields of an active job; `state`/`type` accept enum members or raw text."""
        sim_job = self._sim_job(company, handle)
        changes = dict(values)
        for name, parse in (("state", JobState.parse), ("type", JobType.parse)):
            if name in changes:
                raw = str(changes.pop(name))
                changes[name] = parse(raw)
                changes[f"{name}_raw"] = raw
        unknown = set(changes) - _ACTIVE_FIELDS
        if unknown:
            raise SimError(f"unknown ActiveJob fields: {sorted(unknown)}")
        job = replace(sim_job.job, **_coerce(changes))
        if "type" in changes and "detail" not in changes:
            job = replace(job, detail=detail_for(job))
        job = replace(job, type=job_type_of(job.type_raw, job.detail))
        sim_job.set(job if "task_progress" in changes else with_task_progress(job))
        return sim_job.job

    def finish_job(self, company: str, handle: str, outcome: Outcome, *, files: int = 10) -> JobLog:
        """The job leaves the active list and its job log is written."""
        job = self._sim_job(company, handle).job
        del self.jobs[(company, handle)]
        log = job_log_for(job, Outcome(outcome), self.clock(), files)
        self.logs.append(log)
        return log

    def remove_job(self, company: str, handle: str) -> ActiveJob:
        """The job vanishes without a job log (as when IPS loses track of one)."""
        job = self._sim_job(company, handle).job
        del self.jobs[(company, handle)]
        return job

    def active(
        self,
        company: str | None,
        job_handle: str | None,
        original_name: str | None,
        include_waiting: bool = True,
    ) -> Iterable[SimJob]:
        for sim_job in self.jobs.values():
            job = sim_job.job
            if not include_waiting and job.state in WAITING_STATES:
                continue
            if company is not None and job.company_handle != company:
                continue
            if job_handle is not None and job.job_handle != job_handle:
                continue
            if original_name is not None and job.original_name != original_name:
                continue
            yield sim_job

    def job_logs(
        self, company: str | None, start: datetime | None, end: datetime | None, num_rows: int
    ) -> list[JobLog]:
        """Logs whose run overlaps [start, end], newest first, at most num_rows."""
        found = [
            log
            for log in self.logs
            if (company is None or log.company_handle == company)
            and (start is None or log.end_date is None or log.end_date >= start)
            and (end is None or log.start_date is None or log.start_date <= end)
        ]
        found.reverse()
        return found[: max(num_rows, 0)]

    def _sim_job(self, company: str, handle: str) -> SimJob:
        try:
            return self.jobs[(company, handle)]
        except KeyError:
            raise SimError(f"no active job {handle!r} in company {company!r}") from None


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-friendly values (ISO dates as text) to model values."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, str) and name in _DATE_FIELDS:
            parsed = datetime.fromisoformat(value)
            value = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        out[name] = value
    return out


_DATE_FIELDS = frozenset({"start_date", "trigger_time", "last_progress_update"})


def detail_for(job: ActiveJob) -> JobDetail | None:
    """The job-detail element IPS would write for this job's type, its emailSetting picked
    from the handle (so one job keeps one setting)."""
    kind = _DETAIL_KINDS.get(job.type)
    if kind is None:
        return None
    if kind in KINDS_WITHOUT_EMAIL:
        return JobDetail(kind)
    return JobDetail(kind, _EMAIL_SETTINGS[len(job.job_handle) % len(_EMAIL_SETTINGS)])


def with_task_progress(job: ActiveJob) -> ActiveJob:
    """The job with the task progress its progress and total size imply: one task, files of
    about 1 MB, and the item in work while it runs."""
    progress = max(0, min(job.progress or 0, 100))
    total = max(job.total_size or 0, 0) // 1_000_000 or 10
    processed = total * progress // 100
    running = job.state is JobState.RUNNING
    processing = min(1, total - processed) if running else 0
    items: tuple[TaskItemProgress, ...] = ()
    if processing:
        items = (
            TaskItemProgress(
                item_name=f"asset-{processed + 1}.jpg",
                progress=0.5,
                progress_message="Processing",
                last_progress_update=job.last_progress_update,
            ),
        )
    task = TaskProgress(
        task_type=job.type_raw or job.type.value,
        task_state=_TASK_STATES.get(job.state, TaskState.UNKNOWN),
        num_processed=processed,
        num_processing=processing,
        num_pending=total - processed - processing,
        progress=progress / 100,
        progress_message=job.progress_message,
        last_progress_update=job.last_progress_update,
        items=items,
    )
    return replace(job, task_progress=(task,))


def log_prefix(job_type: JobType) -> str:
    return "Upload" if job_type in _UPLOAD_TYPES else job_type.value


def job_log_for(job: ActiveJob, outcome: Outcome, now: datetime, files: int) -> JobLog:
    """The job log IPS would write for this job and outcome."""
    prefix = log_prefix(job.type)
    errors = max(1, files // 5) if outcome is Outcome.FAILED else 0
    warnings = max(1, files // 3) if outcome is Outcome.WARNINGS else 0
    done = files // 2 if outcome in (Outcome.STOPPED, Outcome.FATAL) else files
    log_type = {
        Outcome.SUCCEEDED: f"{prefix}Success",
        Outcome.WARNINGS: f"{prefix}Warning",
        Outcome.FAILED: f"{prefix}Error",
        Outcome.FATAL: "FatalError",
        Outcome.STOPPED: f"End{prefix}",
    }[outcome]
    return JobLog(
        company_handle=job.company_handle,
        job_handle=job.job_handle,
        job_name=job.name,
        original_job_name=job.original_name,
        submit_user_email=job.submit_user_email,
        log_type=log_type,
        job_sub_type=job.type_raw or job.type.value,
        start_date=job.start_date,
        end_date=now,
        description=job.description,
        file_success_count=done - errors,
        file_error_count=errors,
        file_warning_count=warnings,
        file_duplicate_count=0,
        file_update_count=0,
        total_file_count=files,
        transfer_success_count=done - errors,
        transfer_error_count=errors,
        transfer_warning_count=0,
        fatal_error=outcome is Outcome.FATAL,
    )
