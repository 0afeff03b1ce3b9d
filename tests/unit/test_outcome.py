"""What a finished job's email says became of it, read from its job log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType
from notifier.core.outcome import job_log_window, match_job_log, resolve_completion

STARTED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
FINISHED_AT = STARTED + timedelta(hours=1)
GRACE = timedelta(minutes=10)


def job(
    handle: str = "47|Nightly|", name: str = "Nightly", start: datetime | None = STARTED
) -> ActiveJob:
    return ActiveJob(
        "47",
        handle,
        name,
        "nightly.zip",
        JobType.UPLOAD_FROM_SERVER_DIRECTORY,
        JobState.RUNNING,
        "someone@example.com",
        "de-DE",
        None,
        "ips1",
        start,
        None,
        1000,
        90,
        None,
        None,
    )


def log(
    handle: str = "47|Nightly|",
    name: str = "Nightly",
    start: datetime | None = STARTED + timedelta(seconds=3),
    **counts: object,
) -> JobLog:
    base = JobLog(
        "47",
        handle,
        name,
        None,
        "someone@example.com",
        "UploadSuccess",
        None,
        start,
        STARTED + timedelta(minutes=42),
        None,
        10,
        0,
        0,
        0,
        0,
        10,
        0,
        0,
        0,
        False,
    )
    return replace(base, **counts)  # type: ignore[arg-type]


def finished(stopped: bool = False, the_job: ActiveJob | None = None) -> Event:
    return Event(
        id="e1",
        kind=EventKind.FINISHED,
        job=the_job or job(),
        run=1,
        at=FINISHED_AT,
        went_through_stopping=stopped,
    )


OUTCOMES = [
    ("clean log", {}, False, Outcome.SUCCEEDED),
    ("fatal error", {"fatal_error": True}, False, Outcome.FAILED),
    ("fatal error log type", {"log_type": "FatalError"}, False, Outcome.FAILED),
    ("files in error", {"file_error_count": 2}, False, Outcome.FAILED),
    ("transfers in error", {"transfer_error_count": 1}, False, Outcome.FAILED),
    ("file warnings", {"file_warning_count": 205}, False, Outcome.WARNINGS),
    ("transfer warnings", {"transfer_warning_count": 1}, False, Outcome.WARNINGS),
    (
        "errors beat warnings",
        {"file_warning_count": 3, "file_error_count": 1},
        False,
        Outcome.FAILED,
    ),
    ("stopped, clean log", {}, True, Outcome.STOPPED),
    ("stopped with warnings", {"file_warning_count": 3}, True, Outcome.STOPPED),
    ("stopped with errors still failed", {"file_error_count": 3}, True, Outcome.FAILED),
    ("counts missing", {"file_error_count": None, "fatal_error": None}, False, Outcome.SUCCEEDED),
]


@pytest.mark.parametrize(
    ("counts", "stopped", "outcome"), [o[1:] for o in OUTCOMES], ids=[o[0] for o in OUTCOMES]
)
def test_outcome_from_the_log(counts: dict[str, object], stopped: bool, outcome: Outcome) -> None:
    the_log = log(**counts)
    completion = resolve_completion(finished(stopped), [the_log], FINISHED_AT, GRACE)
    assert completion == Completion(
        outcome=outcome, log=the_log, ended_at=the_log.end_date, duration=timedelta(minutes=42)
    )


def test_waits_for_the_log_during_the_grace_period() -> None:
    assert (
        resolve_completion(finished(), [], FINISHED_AT + GRACE - timedelta(seconds=1), GRACE)
        is None
    )


def test_unknown_when_no_log_came_within_the_grace_period() -> None:
    assert resolve_completion(finished(), [], FINISHED_AT + GRACE, GRACE) == Completion(
        Outcome.UNKNOWN
    )


def test_a_stopped_job_without_log_is_still_stopped() -> None:
    assert resolve_completion(finished(True), [], FINISHED_AT + GRACE, GRACE) == Completion(
        Outcome.STOPPED
    )


def test_matched_by_handle_before_name() -> None:
    by_name = log(handle="47|Other|", name="Nightly", file_error_count=1)
    by_handle = log(name="Renamed")
    assert match_job_log(job(), [by_name, by_handle]) is by_handle


def test_matched_by_original_name_when_the_handle_is_unknown() -> None:
    other = log(handle="47||Add_2007", name="x", original_job_name="Nightly")
    assert match_job_log(job(), [other]) is other


def test_the_log_of_the_previous_run_of_a_recurring_job_is_not_taken() -> None:
    yesterday = log(start=STARTED - timedelta(days=1), fatal_error=True)
    assert match_job_log(job(), [yesterday]) is None
    today = log()
    assert match_job_log(job(), [yesterday, today]) is today


def test_the_closest_start_wins_among_runs() -> None:
    near = log(start=STARTED + timedelta(minutes=1))
    far = log(start=STARTED + timedelta(minutes=9))
    assert match_job_log(job(), [far, near]) is near


def test_other_companies_logs_never_match() -> None:
    assert match_job_log(job(), [replace(log(), company_handle="48")]) is None


def test_a_job_without_start_date_matches_a_single_log_by_handle() -> None:
    undated = job(start=None)
    assert match_job_log(undated, [log()]) is not None
    assert match_job_log(undated, [log(), log(start=STARTED - timedelta(days=1))]) is None


def test_duration_uses_the_log_start_when_the_job_has_none() -> None:
    completion = resolve_completion(finished(the_job=job(start=None)), [log()], FINISHED_AT, GRACE)
    assert completion is not None
    assert completion.duration == timedelta(minutes=42, seconds=-3)


def test_one_window_covers_every_pending_finish_of_a_company() -> None:
    early = finished(the_job=job(start=STARTED - timedelta(hours=5)))
    late = replace(finished(), at=FINISHED_AT + timedelta(hours=2))
    start, end = job_log_window([early, late], window=timedelta(minutes=15))
    assert start == STARTED - timedelta(hours=5, minutes=15)
    assert end == FINISHED_AT + timedelta(hours=2, minutes=15)
    assert job_log_window([early])[0] <= early.job.start_date  # type: ignore[operator]


def test_a_window_needs_events() -> None:
    with pytest.raises(ValueError):
        job_log_window([])
