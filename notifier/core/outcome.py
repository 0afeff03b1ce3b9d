"""What became of a finished job: its job log, and the outcome read from it.

Pure: the daemon fetches the logs (one getJobLogs call per company per round, over the
window `job_log_window` gives) and asks `resolve_completion` for each pending `finished`.

Outcome precedence, decided once here:
1. `failed`: the log reports a fatal error, or files or transfers in error. Errors are what
   people must act on, so they win even over a stop.
2. `stopped`: the run went through Stopping (log without errors, or no log after the grace
   period: we saw it being stopped, which says more than "unknown").
3. `warnings`: warnings (files or transfers), no errors.
4. `succeeded`: a log without errors or warnings.
5. `unknown`: no log within the grace period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from notifier.core.events import Completion, Event, Outcome
from notifier.core.jobs import ActiveJob, JobLog

LOG_MATCH_WINDOW = timedelta(minutes=15)
"""How far a log's startDate may lie from the listed job's startDate and still be its log.

Wide enough for the two clocks of IPS to disagree, narrow enough not to pick the log of the
previous run of a job that recurs (scheduled jobs rerun hours apart, not minutes).
"""


def match_job_log(
    job: ActiveJob, logs: Sequence[JobLog], window: timedelta = LOG_MATCH_WINDOW
) -> JobLog | None:
    """The log of this run of `job`: same jobHandle, else same name; startDate within window.

    When several logs match (a recurring job), the one whose startDate is closest wins.
    A log or job without startDate matches on handle alone (only when it is the only one).
    """
    mine = [log for log in logs if log.company_handle == job.company_handle]
    by_handle = [log for log in mine if log.job_handle == job.job_handle]
    found = _closest(job, by_handle, window, undated_ok=len(by_handle) == 1)
    if found is not None:
        return found
    names = {job.name, job.original_name} - {None, ""}
    by_name = [log for log in mine if {log.job_name, log.original_job_name} & names]
    return _closest(job, by_name, window, undated_ok=False)


def _closest(
    job: ActiveJob, logs: Sequence[JobLog], window: timedelta, *, undated_ok: bool
) -> JobLog | None:
    if job.start_date is None:
        return logs[0] if undated_ok and logs else None
    start = job.start_date
    dated = [
        (abs(log.start_date - start), i, log)
        for i, log in enumerate(logs)
        if log.start_date is not None and abs(log.start_date - start) <= window
    ]
    if dated:
        return min(dated, key=lambda item: (item[0], item[1]))[2]
    undated = [log for log in logs if log.start_date is None]
    return undated[0] if undated_ok and undated else None


def outcome_of(log: JobLog, went_through_stopping: bool) -> Outcome:
    """The outcome a job log tells, by the precedence in the module docstring."""
    fatal = bool(log.fatal_error) or log.log_type == "FatalError"
    if fatal or _positive(log.file_error_count, log.transfer_error_count):
        return Outcome.FAILED
    if went_through_stopping:
        return Outcome.STOPPED
    if _positive(log.file_warning_count, log.transfer_warning_count):
        return Outcome.WARNINGS
    return Outcome.SUCCEEDED


def resolve_completion(
    event: Event, logs: Sequence[JobLog], now: datetime, grace: timedelta
) -> Completion | None:
    """The completion of a `finished` event, or None to wait for its log a while longer."""
    log = match_job_log(event.job, logs)
    if log is None:
        if now - event.at < grace:
            return None
        outcome = Outcome.STOPPED if event.went_through_stopping else Outcome.UNKNOWN
        return Completion(outcome=outcome)
    started = event.job.start_date or log.start_date
    ended = log.end_date
    duration = ended - started if ended is not None and started is not None else None
    if duration is not None and duration < timedelta(0):
        duration = None  # clocks disagree: better no duration than a negative one
    return Completion(
        outcome=outcome_of(log, event.went_through_stopping),
        log=log,
        ended_at=ended,
        duration=duration,
    )


def job_log_window(
    events: Iterable[Event], window: timedelta = LOG_MATCH_WINDOW
) -> tuple[datetime, datetime]:
    """The startDate range of one getJobLogs call that finds the logs of all these events.

    A run's log starts around its listed startDate (or, unknown, before it was seen
    finished), so the range spans the earliest start minus `window` to the latest
    `finished` time plus `window`. Raises ValueError for no events.
    """
    starts: list[datetime] = []
    ends: list[datetime] = []
    for event in events:
        starts.append(event.job.start_date or event.job.trigger_time or event.at)
        ends.append(event.at)
    if not ends:
        raise ValueError("job_log_window needs at least one event")
    return min(starts) - window, max([*ends, *starts]) + window


def _positive(*counts: int | None) -> bool:
    return any(count is not None and count > 0 for count in counts)
