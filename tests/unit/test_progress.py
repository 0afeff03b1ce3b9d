"""Files processed and pending from task progress, and the time left at the current rate."""

from dataclasses import replace
from datetime import timedelta

from notifier.core.jobs import TaskProgress
from notifier.core.progress import (
    FileCounts,
    Observation,
    file_counts,
    observe,
    time_left,
    time_left_so_far,
)
from tests import soap_bodies as sb

T0 = sb.START


def task(processed: int | None, processing: int | None, pending: int | None) -> TaskProgress:
    return TaskProgress(
        task_type="Publish",
        num_processed=processed,
        num_processing=processing,
        num_pending=pending,
    )


def test_files_are_summed_over_every_task() -> None:
    job = sb.active_job(task_progress=(task(10, 1, 89), task(5, 0, None)))
    assert file_counts(job) == FileCounts(processed=15, processing=1, pending=89)
    assert file_counts(job).total == 105


def test_a_job_without_task_progress_has_no_counts_and_no_observation() -> None:
    job = sb.active_job(task_progress=())
    assert file_counts(job) == FileCounts(None, None, None)
    assert file_counts(job).total is None
    assert observe(job, T0) is None


def test_files_in_work_count_as_pending_for_the_estimate() -> None:
    job = sb.active_job(task_progress=(task(10, 2, 88),))
    assert observe(job, T0) == Observation(at=T0, processed=10, pending=90)


def test_time_left_follows_the_rate_so_far() -> None:
    earlier = Observation(T0, processed=10, pending=90)
    later = Observation(T0 + timedelta(minutes=5), processed=20, pending=50)
    assert time_left(earlier, later) == timedelta(minutes=25)


def test_nothing_pending_is_no_time_left() -> None:
    earlier = Observation(T0, processed=10, pending=5)
    later = Observation(T0 + timedelta(minutes=1), processed=15, pending=0)
    assert time_left(earlier, later) == timedelta(0)


def test_no_estimate_when_the_rate_is_unknown_zero_or_backwards() -> None:
    now = Observation(T0 + timedelta(minutes=5), processed=20, pending=50)
    assert time_left(None, now) is None
    assert time_left(now, None) is None
    assert time_left(now, now) is None  # no time between them
    assert time_left(Observation(T0, 20, 50), now) is None  # nothing processed since
    assert time_left(Observation(T0, 30, 40), now) is None  # progress went backwards
    assert time_left(now, Observation(T0, 10, 90)) is None  # observations out of order


def test_time_left_so_far_counts_from_the_jobs_start_with_nothing_processed() -> None:
    started = sb.active_job(start_date=T0, task_progress=(task(20, 1, 49),))
    assert time_left_so_far(started, T0 + timedelta(minutes=10)) == timedelta(minutes=25)
    assert time_left_so_far(started, T0) is None, "no time since the start"
    assert time_left_so_far(replace(started, start_date=None), T0) is None
    idle = replace(started, task_progress=(task(0, 1, 69),))
    assert time_left_so_far(idle, T0 + timedelta(minutes=10)) is None, "nothing processed"
    counted_back = replace(started, task_progress=(task(20, 0, -5),))
    assert time_left_so_far(counted_back, T0 + timedelta(minutes=10)) is None
