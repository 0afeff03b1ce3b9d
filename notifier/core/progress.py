"""Progress that means something: files processed and pending, and the time left.

Owns the arithmetic over an ActiveJob's task progress: the files summed over its tasks, and
an estimate of the time left from the rate between two observations. Pure: no clock inside
(the instants come in as arguments), no I/O, no formatting (the templates localize).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.core.jobs import ActiveJob

__all__ = [
    "FileCounts",
    "Observation",
    "file_counts",
    "observe",
    "time_left",
    "time_left_so_far",
]


@dataclass(frozen=True, slots=True)
class FileCounts:
    """Files of a job summed over its tasks; None where no task reported the count."""

    processed: int | None
    processing: int | None
    pending: int | None

    @property
    def total(self) -> int | None:
        known = [n for n in (self.processed, self.processing, self.pending) if n is not None]
        return sum(known) if known else None


@dataclass(frozen=True, slots=True)
class Observation:
    """How far a job was at one instant (the notifier's clock, not IPS's)."""

    at: datetime
    processed: int
    pending: int


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def file_counts(job: ActiveJob) -> FileCounts:
    """Files processed, in work and pending, summed over the job's tasks."""
    tasks = job.task_progress
    return FileCounts(
        processed=_sum([t.num_processed for t in tasks]),
        processing=_sum([t.num_processing for t in tasks]),
        pending=_sum([t.num_pending for t in tasks]),
    )


def observe(job: ActiveJob, at: datetime) -> Observation | None:
    """The job's progress at `at`, or None when its tasks report no processed/pending counts."""
    counts = file_counts(job)
    if counts.processed is None or counts.pending is None:
        return None
    pending = counts.pending + (counts.processing or 0)
    return Observation(at=at, processed=counts.processed, pending=pending)


def time_left(earlier: Observation | None, later: Observation | None) -> timedelta | None:
    """The time the pending files take at the rate from `earlier` to `later`.

    None when the rate is unknown (an observation missing, no time between them), zero (no
    file processed in between) or negative (progress went backwards); zero when nothing is
    pending.
    """
    if earlier is None or later is None:
        return None
    elapsed = (later.at - earlier.at).total_seconds()
    done = later.processed - earlier.processed
    if elapsed <= 0 or done <= 0:
        return None
    if later.pending <= 0:
        return timedelta(0)
    return timedelta(seconds=later.pending * elapsed / done)


def time_left_so_far(job: ActiveJob, at: datetime) -> timedelta | None:
    """The time left at the job's rate so far: from its startDate (no file processed then)
    to its progress observed at `at`. None where that rate is unknown (no startDate, no
    counts, nothing processed, a count below zero); zero when nothing is pending."""
    now = observe(job, at)
    if job.start_date is None or now is None or now.pending < 0:
        return None
    return time_left(Observation(job.start_date, 0, now.processed + now.pending), now)
