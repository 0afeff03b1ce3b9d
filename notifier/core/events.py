"""Job events: what the diff emits, what the outbox stores and what emails describe.

Pure values only. The event id is deterministic so that a change seen twice, or replayed
after a crash, is still one event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from notifier.core.jobs import ActiveJob, JobLog


class EventKind(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    STALLED = "stalled"
    STOPPING = "stopping"
    FINISHED = "finished"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    WARNINGS = "warnings"
    FAILED = "failed"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Event:
    """One state change of one run of one job.

    `job` is the job as last listed by IPS (for `finished` after it dropped out, the last
    listing before that). `run` counts the runs of the same (company, handle) pair.
    `detail` is the progress step for `progress` and the stall episode for `stalled`.
    """

    id: str
    kind: EventKind
    job: ActiveJob
    run: int
    at: datetime
    detail: int = 0
    went_through_stopping: bool = False

    @property
    def thread_id(self) -> str:
        """Shared by every event of one job run: the email thread."""
        return run_id(self.job.company_handle, self.job.job_handle, self.run)


@dataclass(frozen=True, slots=True)
class Completion:
    """What became of a finished job: its outcome and, when IPS wrote one, its job log."""

    outcome: Outcome
    log: JobLog | None = None
    ended_at: datetime | None = None
    duration: timedelta | None = None


def run_id(company_handle: str, job_handle: str, run: int) -> str:
    return _digest("run", company_handle, job_handle, str(run))


def event_id(company_handle: str, job_handle: str, run: int, kind: EventKind, detail: int) -> str:
    return _digest("event", company_handle, job_handle, str(run), kind.value, str(detail))


def _digest(*parts: str) -> str:
    # Length-prefixed so that ("a|b", "c") and ("a", "b|c") never collide.
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:32]
