"""Tracked state: what the notifier remembers of each job between polls.

Owned by core/diff.py (which computes it) and store/ (which persists it). Pure values: a
TrackedJob that did not change between two polls is the same object in both states, which is
how the store finds the few rows it must write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from notifier.core.jobs import ActiveJob

JobKey = tuple[str, str]
"""(companyHandle, jobHandle)"""


@dataclass(frozen=True, slots=True)
class TrackedJob:
    """One run of one job, as far as the notifier has followed it.

    `job` is the latest listing. `progress_step` is the highest configured step already
    passed in this run (announced, or already passed when the run was first seen).
    `progress_since` is the time of the poll that first saw the current progress (or the
    entry into Running): stalls are measured from it on the notifier's own clock.
    `stalled` is true while the current stall episode has been announced; `stall_episodes`
    counts the episodes of this run. `finished` marks a run whose `finished` event has been
    emitted while IPS still lists it as Done: it is forgotten once it stops being listed.
    """

    job: ActiveJob
    run: int
    first_seen: datetime
    progress_since: datetime
    missing_polls: int = 0
    progress_step: int = 0
    stall_episodes: int = 0
    stalled: bool = False
    started: bool = False
    went_through_stopping: bool = False
    finished: bool = False


@dataclass(frozen=True, slots=True)
class TrackedState:
    """Every followed job, the last run number of every job key ever seen, and the scopes.

    `last_run` outlives `jobs`: a handle that comes back after it finished gets the next run
    number, so its events never share ids with the earlier run. `scopes` maps each scope that
    has had a successful poll (a company handle, or "" for a poll of every company) to the
    time of its latest one.
    """

    jobs: Mapping[JobKey, TrackedJob] = field(default_factory=dict)
    last_run: Mapping[JobKey, int] = field(default_factory=dict)
    scopes: Mapping[str, datetime] = field(default_factory=dict)
