"""The poller's half of the store, the same on every backend: what is committed is what a
restarted daemon finds, and each event is owed once to each of its recipients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event, EventKind
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import ChannelKind, Recipient, Route, RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.store.protocol import Store
from tests.contract.conftest import Harness, Owed

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = DiffRules()
TEAM = "dam-team@example.com"
ROUTING = RoutingRules(routes=(Route(to=(Recipient(ChannelKind.EMAIL, TEAM),)),))


def active_job(handle: str, state: str = "Running", progress: int = 10) -> ActiveJob:
    return ActiveJob(
        "47", f"47|{handle}|", handle, None, JobType.URL_UPLOAD, JobState.parse(state),
        "someone@example.com", "pt-BR", "Ações", None, T0 - timedelta(hours=1), None, None,
        progress, None, None, state_raw=state,
    )  # fmt: skip


def poll(state: TrackedState, minutes: int, *jobs: ActiveJob) -> tuple[TrackedState, list[Event]]:
    return diff(state, Snapshot({"47": list(jobs)}), T0 + timedelta(minutes=minutes), RULES)


async def commit(store: Store, state: TrackedState, events: list[Event]) -> None:
    """Commit as the poller does: the state, the events and the deliveries routing plans."""
    await store.commit(state, events, plan_all(events, ROUTING), T0)


def owed_to_all(events: list[Event]) -> list[Owed]:
    return [(e.id, who) for e in events for who in (e.job.submit_user_email or "", TEAM)]


async def test_a_new_store_holds_no_state_and_owes_nothing(store: Harness) -> None:
    opened = await store.open()
    assert await opened.load_state() == TrackedState()
    assert await store.owed() == []


async def test_what_is_committed_is_what_a_restart_finds(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await commit(opened, state, [])
    state, events = poll(state, 1, active_job("A"), active_job("B"))
    await commit(opened, state, events)

    assert [e.kind for e in events] == [EventKind.STARTED, EventKind.STARTED]
    assert await (await store.open()).load_state() == state
    assert await store.owed() == owed_to_all(events)


async def test_an_event_committed_again_is_owed_once_to_each(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await commit(opened, state, [])
    state, events = poll(state, 1, active_job("A"))
    await commit(opened, state, events)
    await commit(opened, state, events)  # a replay after a crash
    assert await store.owed() == owed_to_all(events)


async def test_finished_jobs_leave_the_state_and_their_finish_is_owed(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await commit(opened, state, [])
    seen: list[Event] = []
    for minute, jobs in enumerate([("A", "B"), ("A",), ("A",), ("A",)], start=1):
        state, events = poll(state, minute, *(active_job(j) for j in jobs))
        await commit(opened, state, events)
        seen += events

    reopened = await (await store.open()).load_state()
    assert reopened == state
    assert [key[1] for key in reopened.jobs] == ["47|A|"]
    assert [e.kind for e in seen] == [EventKind.STARTED, EventKind.STARTED, EventKind.FINISHED]
    assert await store.owed() == owed_to_all(seen)


async def test_two_thousand_jobs_commit_and_come_back(store: Harness) -> None:
    opened = await store.open()
    state, _ = poll(await opened.load_state(), 0)
    await commit(opened, state, [])
    jobs = [active_job(f"J{n:04}", progress=n % 100) for n in range(2000)]
    state, events = poll(state, 1, *jobs)
    await commit(opened, state, events)
    state, more = poll(state, 2, *jobs[:1000])  # half of them unlisted once
    await commit(opened, state, more)

    assert len(events) == 2000
    assert await (await store.open()).load_state() == state
    assert len(await store.owed()) == 2 * (2000 + len(more))
