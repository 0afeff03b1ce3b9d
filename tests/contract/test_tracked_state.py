"""The poller's half of the store, the same on every backend: what is committed is what a
restarted daemon finds, and each event is owed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event, EventKind
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.state import TrackedState
from tests.contract.conftest import Harness

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = DiffRules()


def active_job(handle: str, state: str = "Running", progress: int = 10) -> ActiveJob:
    return ActiveJob(
        "47", f"47|{handle}|", handle, None, JobType.URL_UPLOAD, JobState.parse(state),
        "someone@example.com", "pt-BR", "Ações", None, T0 - timedelta(hours=1), None, None,
        progress, None, None, state_raw=state,
    )  # fmt: skip


def poll(state: TrackedState, minutes: int, *jobs: ActiveJob) -> tuple[TrackedState, list[Event]]:
    return diff(state, Snapshot({"47": list(jobs)}), T0 + timedelta(minutes=minutes), RULES)


async def test_a_new_store_holds_no_state_and_owes_nothing(store: Harness) -> None:
    opened = await store.open()
    assert await opened.load_state() == TrackedState()
    assert await store.pending_event_ids() == []


async def test_what_is_committed_is_what_a_restart_finds(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await opened.commit(state, [], T0)
    state, events = poll(state, 1, active_job("A"), active_job("B"))
    await opened.commit(state, events, T0 + timedelta(minutes=1))

    assert [e.kind for e in events] == [EventKind.STARTED, EventKind.STARTED]
    assert await (await store.open()).load_state() == state
    assert await store.pending_event_ids() == [e.id for e in events]


async def test_an_event_committed_again_is_owed_once(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await opened.commit(state, [], T0)
    state, events = poll(state, 1, active_job("A"))
    await opened.commit(state, events, T0 + timedelta(minutes=1))
    await opened.commit(state, events, T0 + timedelta(minutes=2))  # a replay after a crash
    assert await store.pending_event_ids() == [events[0].id]


async def test_finished_jobs_leave_the_state_and_their_finish_is_owed(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await opened.commit(state, [], T0)
    owed: list[str] = []
    for minute, jobs in enumerate([("A", "B"), ("A",), ("A",), ("A",)], start=1):
        state, events = poll(state, minute, *(active_job(j) for j in jobs))
        await opened.commit(state, events, T0 + timedelta(minutes=minute))
        owed += [e.id for e in events]

    reopened = await (await store.open()).load_state()
    assert reopened == state
    assert [key[1] for key in reopened.jobs] == ["47|A|"]
    assert len(owed) == 3  # A and B started, B finished
    assert await store.pending_event_ids() == owed


async def test_two_thousand_jobs_commit_and_come_back(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await opened.commit(state, [], T0)
    jobs = [active_job(f"J{n:04}", progress=n % 100) for n in range(2000)]
    state, events = poll(state, 1, *jobs)
    await opened.commit(state, events, T0 + timedelta(minutes=1))
    state, more = poll(state, 2, *jobs[:1000])  # half of them unlisted once
    await opened.commit(state, more, T0 + timedelta(minutes=2))

    assert len(events) == 2000
    assert await (await store.open()).load_state() == state
    assert len(await store.pending_event_ids()) == 2000 + len(more)
