"""Random histories of polls, failed polls, replays and restarts keep the diff's promises.

Whatever IPS lists, in whatever order, with polls failing at random and the daemon
restarting from its stored state:
- every run of a job that leaves (listed Done, or unlisted for `finish_confirm_polls`
  successful polls of its company) gets exactly one `finished`, and nothing after it;
- no event id is ever emitted twice;
- the first poll of a company announces nothing;
- a failed poll emits nothing and changes nothing, for its company's jobs too;
- replaying a poll (same snapshot, same time) is a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from notifier.core.codec import decode_tracked_job, encode_tracked_job
from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event, EventKind
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.state import JobKey, TrackedState

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COMPANIES = ("47", "48")
RULES = DiffRules(
    finish_confirm_polls=2, stall_after=timedelta(minutes=20), progress_steps=(50, 90)
)


def jobs_of(company: str) -> st.SearchStrategy[list[ActiveJob]]:
    job = st.builds(
        lambda handle, state, progress, moved: ActiveJob(
            company, f"{company}|{handle}|", handle, None, JobType.CLEANUP, state,
            "someone@example.com", None, None, None, T0, None, None, progress, None,
            T0 + timedelta(minutes=moved) if moved is not None else None,
        ),
        st.sampled_from("ABC"),
        st.sampled_from([JobState.NEW, JobState.RUNNING, JobState.RUNNING, JobState.STOPPING,
                         JobState.DONE, JobState.WAITING_CLIENT, JobState.UNRECOGNIZED]),
        st.sampled_from([None, 0, 60, 95]),
        st.none() | st.integers(0, 2),
    )  # fmt: skip
    return st.lists(job, max_size=3, unique_by=lambda j: j.job_handle)


snapshots = st.fixed_dictionaries({c: st.none() | jobs_of(c) for c in COMPANIES}).map(
    lambda listed: Snapshot({c: jobs for c, jobs in listed.items() if jobs is not None})
)


def reload_through_codec(state: TrackedState) -> TrackedState:
    jobs = {key: decode_tracked_job(encode_tracked_job(t)) for key, t in state.jobs.items()}
    return TrackedState(jobs=jobs, last_run=dict(state.last_run), scopes=dict(state.scopes))


class DiffMachine(RuleBasedStateMachine):
    """The model: which runs are open, how long each job has been unlisted, what was said."""

    def __init__(self) -> None:
        super().__init__()
        self.state = TrackedState()
        self.now = T0
        self.last_poll: tuple[Snapshot, datetime] | None = None
        self.emitted: set[str] = set()
        self.finished: set[tuple[JobKey, int]] = set()
        self.unlisted: dict[JobKey, int] = defaultdict(int)
        self.open_run: dict[JobKey, bool] = {}  # listed not Done since its last finished

    # -- the shell's side: overridden by the real-store variant -------------------------

    def reload(self, state: TrackedState) -> TrackedState:
        return reload_through_codec(state)

    def committed(self, state: TrackedState, events: list[Event]) -> None:
        """The shell stores what the diff returned."""

    # -- rules ---------------------------------------------------------------------------

    @rule(snapshot=snapshots, minutes=st.integers(1, 15))
    def poll(self, snapshot: Snapshot, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        before = self.state
        after, events = diff(before, snapshot, self.now, RULES)
        self.check_events(before, snapshot, events)
        self.check_untouched_companies(before, after, snapshot)
        self.follow_model(snapshot, events)
        self.committed(after, events)
        self.state, self.last_poll = after, (snapshot, self.now)

    @rule(minutes=st.integers(1, 60))
    def failed_round(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        after, events = diff(self.state, Snapshot({}), self.now, RULES)
        assert events == []
        assert after is self.state

    @precondition(lambda self: self.last_poll is not None)
    @rule()
    def replay_last_poll(self) -> None:
        assert self.last_poll is not None
        after, events = diff(self.state, *self.last_poll, RULES)
        assert events == []
        assert after == self.state

    @rule()
    def restart(self) -> None:
        reloaded = self.reload(self.state)
        assert reloaded == self.state
        self.state = reloaded

    @invariant()
    def runs_are_counted(self) -> None:
        for key, tracked in self.state.jobs.items():
            assert self.state.last_run[key] == tracked.run

    # -- checks --------------------------------------------------------------------------

    def check_events(self, before: TrackedState, snapshot: Snapshot, events: list[Event]) -> None:
        for event in events:
            key = (event.job.company_handle, event.job.job_handle)
            assert event.id not in self.emitted, f"{event.kind} emitted twice"
            self.emitted.add(event.id)
            assert (key, event.run) not in self.finished, f"{event.kind} after finished"
            assert key[0] in snapshot.scopes, "an event for a company whose poll failed"
            assert key[0] in before.scopes, "the first poll of a company announced something"
            if event.kind is EventKind.FINISHED:
                self.finished.add((key, event.run))

    def check_untouched_companies(
        self, before: TrackedState, after: TrackedState, snapshot: Snapshot
    ) -> None:
        for key, tracked in before.jobs.items():
            if key[0] not in snapshot.scopes:
                assert after.jobs[key] is tracked

    def follow_model(self, snapshot: Snapshot, events: list[Event]) -> None:
        finished_now = {
            (e.job.company_handle, e.job.job_handle) for e in events if e.kind is EventKind.FINISHED
        }
        leaving: set[JobKey] = set()
        for company, listed in snapshot.scopes.items():
            by_key = {(j.company_handle, j.job_handle): j for j in listed}
            known = {k for k in (*self.open_run, *by_key) if k[0] == company}
            for key in known:
                job = by_key.get(key)
                self.unlisted[key] = 0 if job else self.unlisted[key] + 1
                was_open = self.open_run.get(key, False)
                leaves = (job is not None and job.state is JobState.DONE) or (
                    self.unlisted[key] >= RULES.finish_confirm_polls
                )
                if leaves:
                    leaving.add(key)
                if was_open and leaves:
                    assert key in finished_now, f"{key} left without a finished"
                if job is not None and job.state is not JobState.DONE:
                    self.open_run[key] = True
                elif leaves:
                    self.open_run[key] = False
        assert finished_now <= leaving, "finished for a job that has not left"


DiffMachine.TestCase.settings = settings(max_examples=2000, stateful_step_count=8, deadline=None)
TestDiffHistories = DiffMachine.TestCase
