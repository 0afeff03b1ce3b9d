"""Sample emails for `notifier preview`: a realistic job rendered without any configuration.

Owns the sample job, its log and the validation of what the user asked to see. Never reads
configuration, the store or the network.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

from notifier.core.events import Completion, Event, EventKind, Outcome, event_id
from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType, TaskProgress, TaskState
from notifier.mail.message import build_message
from notifier.mail.render import render_bodies

_Choice = TypeVar("_Choice", EventKind, Outcome)

FORMATS: tuple[str, ...] = ("text", "html", "eml")
SAMPLE_SENDER = "IPS Jobs <ips-jobs@example.com>"
SAMPLE_TIMEZONE = "UTC"

_STARTED = datetime(2026, 3, 14, 8, 2, 41, tzinfo=UTC)
_LAST_PROGRESS = datetime(2026, 3, 14, 9, 17, 5, tzinfo=UTC)
_ENDED = datetime(2026, 3, 14, 9, 48, 19, tzinfo=UTC)

_STATES: dict[EventKind, JobState] = {
    EventKind.QUEUED: JobState.NEW,
    EventKind.STARTED: JobState.RUNNING,
    EventKind.PROGRESS: JobState.RUNNING,
    EventKind.STALLED: JobState.RUNNING,
    EventKind.STOPPING: JobState.STOPPING,
    EventKind.FINISHED: JobState.DONE,
}
_PROGRESS: dict[EventKind, int] = {
    EventKind.QUEUED: 0,
    EventKind.STARTED: 0,
    EventKind.PROGRESS: 50,
    EventKind.STALLED: 62,
    EventKind.STOPPING: 71,
    EventKind.FINISHED: 100,
}
_FILES = 1_248
# (succeeded, warnings, errors, fatal) per outcome, as a job log of that outcome reads.
_COUNTS: dict[Outcome, tuple[int, int, int, bool]] = {
    Outcome.SUCCEEDED: (1_248, 0, 0, False),
    Outcome.WARNINGS: (1_236, 12, 0, False),
    Outcome.FAILED: (1_201, 12, 35, False),
    Outcome.STOPPED: (886, 0, 0, False),
}


def preview(kind: str, outcome: str | None, locale: str, fmt: str) -> str:
    """The sample email for `kind` (and `outcome`, for finished) in `locale`, as `fmt`.

    Raises ValueError, naming the valid values, for an unknown kind, outcome or format.
    """
    event_kind = _choice(EventKind, kind, "event")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    if event_kind is not EventKind.FINISHED and outcome is not None:
        raise ValueError(f"an outcome applies only to the finished event, not to {kind!r}")
    sample_outcome = _choice(Outcome, outcome or Outcome.SUCCEEDED.value, "outcome")
    event = sample_event(event_kind, locale)
    completion = sample_completion(sample_outcome) if event_kind is EventKind.FINISHED else None
    if fmt == "eml":
        message = build_message(event, completion, sender=SAMPLE_SENDER, timezone=SAMPLE_TIMEZONE)
        return message.as_string()
    rendered = render_bodies(event, completion, timezone=SAMPLE_TIMEZONE)
    return rendered.text if fmt == "text" else rendered.html


def sample_job(kind: EventKind, locale: str | None) -> ActiveJob:
    return ActiveJob(
        company_handle="47",
        job_handle="47|Spring catalog 2026 – product images|",
        name="Spring catalog 2026 – product images",
        original_name="Spring catalog 2026 – product images",
        type=JobType.IMAGE_SERVING_PUBLISH,
        state=_STATES[kind],
        submit_user_email="maria.rossi@example.com",
        locale=locale,
        description="Publishes the new spring product shots to Image Serving for the web shop.",
        server_name="ips-worker-07",
        start_date=_STARTED,
        trigger_time=None,
        total_size=3_482_115_072,
        progress=_PROGRESS[kind],
        progress_message="Processing file 642 of 1,248",
        last_progress_update=_LAST_PROGRESS,
        type_raw=JobType.IMAGE_SERVING_PUBLISH.value,
        state_raw=_STATES[kind].value,
        task_progress=(_sample_task(kind),),
    )


def _sample_task(kind: EventKind) -> TaskProgress:
    """The job's one task as IPS reports it: files processed, one in work, the rest waiting."""
    processed = _FILES * _PROGRESS[kind] // 100
    processing = 1 if _STATES[kind] is JobState.RUNNING else 0
    return TaskProgress(
        task_type=JobType.IMAGE_SERVING_PUBLISH.value,
        task_state=TaskState.PROCESSING if processing else TaskState.DONE,
        num_processed=processed,
        num_processing=processing,
        num_pending=_FILES - processed - processing,
        progress=_PROGRESS[kind] / 100,
        last_progress_update=_LAST_PROGRESS,
    )


def sample_event(kind: EventKind, locale: str | None) -> Event:
    job = sample_job(kind, locale)
    detail = _PROGRESS[kind] if kind is EventKind.PROGRESS else 0
    at = {
        EventKind.QUEUED: _STARTED - timedelta(minutes=2),
        EventKind.STARTED: _STARTED,
        EventKind.STALLED: _LAST_PROGRESS + timedelta(minutes=30),
        EventKind.FINISHED: _ENDED,
    }.get(kind, _LAST_PROGRESS)
    return Event(
        id=event_id(job.company_handle, job.job_handle, 1, kind, detail),
        kind=kind,
        job=job,
        run=1,
        at=at,
        detail=detail,
        went_through_stopping=False,
    )


def sample_completion(outcome: Outcome) -> Completion:
    if outcome is Outcome.UNKNOWN:
        return Completion(outcome=outcome)
    succeeded, warnings, errors, fatal = _COUNTS[outcome]
    log = JobLog(
        company_handle="47",
        job_handle="47|Spring catalog 2026 – product images|",
        job_name="Spring catalog 2026 – product images",
        original_job_name="Spring catalog 2026 – product images",
        submit_user_email="maria.rossi@example.com",
        log_type="ImageServingPublishError" if errors else "ImageServingPublishSuccess",
        job_sub_type=None,
        start_date=_STARTED,
        end_date=_ENDED,
        description=None,
        file_success_count=succeeded,
        file_error_count=errors,
        file_warning_count=warnings,
        file_duplicate_count=0,
        file_update_count=0,
        total_file_count=succeeded + warnings + errors,
        transfer_success_count=None,
        transfer_error_count=None,
        transfer_warning_count=None,
        fatal_error=fatal,
    )
    return Completion(outcome=outcome, log=log, ended_at=_ENDED, duration=_ENDED - _STARTED)


def _choice(enum: type[_Choice], value: str, what: str) -> _Choice:
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise ValueError(f"unknown {what} {value!r}; valid values: {valid}") from None
