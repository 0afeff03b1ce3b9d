"""The reducer: job events from successive getActiveJobs snapshots.

`diff(state, snapshot, now, rules) -> (state', events)` owns every rule of docs/DESIGN.md's event
table. It is pure: no clock, no I/O, no randomness; the same inputs give the same outputs,
and feeding the same snapshot at the same `now` twice changes nothing the second time.

A scope whose poll failed is absent from the snapshot and its jobs are left exactly as they
were. The first successful poll of a scope records its jobs without announcing them.

Decisions the event table leaves open:
- A replay is the same scope at the same `now`: it is ignored. The same listing at a later
  `now` is a new poll (that is how a missing job gets confirmed finished).
- A step is crossed between two observations: a run first seen at 80 % announces
  `started`, not `progress 50`; from New at 0 % to Running at 80 %, both.
- Stalls are measured on the notifier's clock, from the poll that first saw the current
  (progress, lastProgressUpdate) or the entry into Running; IPS's clock is never compared
  with ours. Leaving Running and coming back starts a new stall clock.
- A run listed Done is finished at once and kept as finished while IPS keeps listing it,
  so that it is not finished twice; it is forgotten once unlisted for
  `finish_confirm_polls` polls. Listed again in any other state, it is a new run.
- Unlisted jobs are handled in key order, so that the events' order depends on the inputs'
  values only, not on the order a state was loaded in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from notifier.core.events import Event, EventKind, event_id
from notifier.core.jobs import ActiveJob, JobState
from notifier.core.rules import DiffRules
from notifier.core.state import JobKey, TrackedJob, TrackedState

__all__ = ["DiffRules", "Snapshot", "diff"]

ALL_COMPANIES = ""
"""The scope of a poll made without companyHandle: it covers every job."""

_ARRIVAL: Mapping[JobState, EventKind] = {
    JobState.RUNNING: EventKind.STARTED,
    JobState.STOPPING: EventKind.STOPPING,
    JobState.DONE: EventKind.FINISHED,
}
"""The event of a run first seen in a state; any other state (waiting, unknown) is queued."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The successful results of one poll round: scope -> the jobs IPS listed for it.

    A scope is a company handle, or "" for a poll without companyHandle (every job).
    """

    scopes: Mapping[str, Sequence[ActiveJob]]


def diff(
    state: TrackedState, snapshot: Snapshot, now: datetime, rules: DiffRules
) -> tuple[TrackedState, list[Event]]:
    """The state after `snapshot` was seen at `now`, and the events that happened."""
    # A scope already polled at this very `now` is a replay of a poll already applied.
    fresh = {s: jobs for s, jobs in snapshot.scopes.items() if state.scopes.get(s) != now}
    if not fresh:
        return state, []
    jobs = dict(state.jobs)
    runs = _RunNumbers(state.last_run)
    events: list[Event] = []
    seen: set[JobKey] = set()
    for scope, listed in fresh.items():
        silent = scope not in state.scopes
        for job in listed:
            key = (job.company_handle, job.job_handle)
            if key in seen:
                continue  # listed twice in one round: the first listing wins
            seen.add(key)
            tracked = _observe(jobs.get(key), job, key, now, rules, silent, runs, events)
            jobs[key] = tracked
    covers_all = ALL_COMPANIES in fresh
    unlisted = [k for k in state.jobs if k not in seen and (covers_all or k[0] in fresh)]
    # Sorted: the events' order must not depend on the order a state was loaded in.
    for key in sorted(unlisted):
        still = _missing(state.jobs[key], now, rules, events)
        if still is None:
            del jobs[key]
        else:
            jobs[key] = still
    scopes = {**state.scopes, **dict.fromkeys(fresh, now)}
    return TrackedState(jobs=jobs, last_run=runs.mapping(), scopes=scopes), events


class _RunNumbers:
    """The last run of every key, copied only when a new run starts (rare, and it is big)."""

    def __init__(self, base: Mapping[JobKey, int]) -> None:
        self._base = base
        self._changed: dict[JobKey, int] | None = None

    def next(self, key: JobKey) -> int:
        if self._changed is None:
            self._changed = dict(self._base)
        run = self._changed.get(key, 0) + 1
        self._changed[key] = run
        return run

    def mapping(self) -> Mapping[JobKey, int]:
        return self._base if self._changed is None else self._changed


def _observe(
    prev: TrackedJob | None,
    job: ActiveJob,
    key: JobKey,
    now: datetime,
    rules: DiffRules,
    silent: bool,
    runs: _RunNumbers,
    events: list[Event],
) -> TrackedJob:
    if prev is not None and not (prev.finished and job.state is not JobState.DONE):
        return _follow(prev, job, now, rules, events)
    # Never seen, or seen finished and now listed again: a new run.
    tracked = TrackedJob(
        job=job,
        run=runs.next(key),
        first_seen=now,
        progress_since=now,
        progress_step=rules.step_reached(job.progress),
        started=job.state is JobState.RUNNING,
        went_through_stopping=job.state is JobState.STOPPING,
        finished=job.state is JobState.DONE,
    )
    if not silent:
        events.append(_event(_ARRIVAL.get(job.state, EventKind.QUEUED), tracked, now))
    return tracked


def _follow(
    prev: TrackedJob, job: ActiveJob, now: datetime, rules: DiffRules, events: list[Event]
) -> TrackedJob:
    """A run already followed, listed again."""
    if prev.missing_polls == 0 and job == prev.job:
        # The common case, kept cheap: only the clock can have changed something.
        if prev.finished or not _stalls(prev, now, rules):
            return prev
        return _stall(prev, now, events)
    if prev.finished or job.state is JobState.DONE:
        done = replace(prev, job=job, missing_polls=0, finished=True)
        if not prev.finished:
            events.append(_event(EventKind.FINISHED, done, now))
        return done
    running = job.state is JobState.RUNNING
    # Entering Running starts the stall clock afresh, as progress moving does.
    moved = (running and prev.job.state is not JobState.RUNNING) or _moved(prev.job, job)
    tracked = replace(
        prev,
        job=job,
        missing_polls=0,
        started=prev.started or running,
        went_through_stopping=prev.went_through_stopping or job.state is JobState.STOPPING,
        progress_step=max(prev.progress_step, rules.step_reached(job.progress)),
        progress_since=now if moved else prev.progress_since,
        stalled=prev.stalled and not moved,
    )
    if tracked.started and not prev.started:
        events.append(_event(EventKind.STARTED, tracked, now))
    if tracked.went_through_stopping and not prev.went_through_stopping:
        events.append(_event(EventKind.STOPPING, tracked, now))
    if tracked.progress_step > prev.progress_step:
        events.append(_event(EventKind.PROGRESS, tracked, now, tracked.progress_step))
    if _stalls(tracked, now, rules):
        return _stall(tracked, now, events)
    return tracked


def _stalls(tracked: TrackedJob, now: datetime, rules: DiffRules) -> bool:
    """Running, not already announced stalled, and still for `stall_after` on our clock."""
    return (
        tracked.job.state is JobState.RUNNING
        and not tracked.stalled
        and rules.stall_after is not None
        and now - tracked.progress_since >= rules.stall_after
    )


def _stall(tracked: TrackedJob, now: datetime, events: list[Event]) -> TrackedJob:
    stalled = replace(tracked, stalled=True, stall_episodes=tracked.stall_episodes + 1)
    events.append(_event(EventKind.STALLED, stalled, now, stalled.stall_episodes))
    return stalled


def _moved(before: ActiveJob, after: ActiveJob) -> bool:
    return (
        before.last_progress_update != after.last_progress_update
        or before.progress != after.progress
    )


def _missing(
    tracked: TrackedJob, now: datetime, rules: DiffRules, events: list[Event]
) -> TrackedJob | None:
    """A followed run absent from a successful poll of its scope; None once it is gone."""
    missing = tracked.missing_polls + 1
    if missing < rules.finish_confirm_polls:
        return replace(tracked, missing_polls=missing)
    if not tracked.finished:
        events.append(_event(EventKind.FINISHED, tracked, now))
    return None


def _event(kind: EventKind, tracked: TrackedJob, now: datetime, detail: int = 0) -> Event:
    job = tracked.job
    return Event(
        id=event_id(job.company_handle, job.job_handle, tracked.run, kind, detail),
        kind=kind,
        job=job,
        run=tracked.run,
        at=now,
        detail=detail,
        went_through_stopping=kind is EventKind.FINISHED and tracked.went_through_stopping,
    )
