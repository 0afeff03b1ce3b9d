"""The delivery and operator halves of the store, the same on every store: what the delivery
loop takes, what it records, and what `notifier outbox` sees and changes.

A delivery a store returns as due is not asked for again before it is recorded: PostgreSQL
claims it for this replica (another call gets the rest); SQLite's one process, and the
in-memory store's, need no claim.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import (
    SKIP_OUTCOME,
    ChannelKind,
    Recipient,
    Route,
    RoutingRules,
    plan_all,
)
from notifier.core.state import TrackedState
from notifier.store.protocol import DeliveryStatus, Store, StoreError

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
TEAM = "dam-team@example.com"
ROUTING = RoutingRules()


def active_job(handle: str, state: str = "Running") -> ActiveJob:
    return ActiveJob(
        "47", f"47|{handle}|", handle, None, JobType.URL_UPLOAD, JobState.parse(state),
        "someone@example.com", "pt-BR", "Ações", None, T0 - timedelta(hours=1), None, None,
        10, None, None, state_raw=state,
    )  # fmt: skip


def poll(state: TrackedState, minutes: int, *jobs: ActiveJob) -> tuple[TrackedState, list[Event]]:
    return diff(state, Snapshot({"47": list(jobs)}), T0 + timedelta(minutes=minutes), DiffRules())


async def started_jobs(
    store: Store, *names: str, routing: RoutingRules = ROUTING
) -> tuple[TrackedState, list[Event]]:
    """An empty first poll, then these jobs start: one delivery each to the submitter."""
    state, _ = poll(await store.load_state(), 0)
    await store.commit(state, [], [], T0)
    state, events = poll(state, 1, *(active_job(n) for n in names))
    await store.commit(state, events, plan_all(events, routing), T0 + timedelta(minutes=1))
    return state, events


async def email_counts(store: Store) -> dict[DeliveryStatus, int]:
    counts = await store.counts()
    return {status: counts[(ChannelKind.EMAIL, status)] for status in DeliveryStatus}


async def test_a_delivery_goes_through_a_retry_to_sent_with_its_receipt(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A")
    assert await store.due_deliveries(T0, limit=10) == [], "not due before it was created"
    (delivery,) = await store.due_deliveries(LATER, limit=10)
    await store.mark_retry([delivery.id], "421 try later", LATER + timedelta(minutes=10), LATER)
    assert await store.due_deliveries(LATER + timedelta(minutes=9), limit=10) == []
    (again,) = await store.due_deliveries(LATER + timedelta(minutes=10), limit=10)
    assert (again.id, again.attempts, again.last_error) == (delivery.id, 1, "421 try later")
    await store.mark_sent([delivery.id], "<abc@notifier>", LATER + timedelta(minutes=10))
    (sent,) = await store.list_deliveries([DeliveryStatus.SENT])
    assert (sent.receipt, sent.attempts) == ("<abc@notifier>", 2)
    assert await store.due_deliveries(LATER + timedelta(days=1), limit=10) == []


async def test_what_a_store_returns_as_due_may_be_sent_until_its_result_is_recorded(
    full_store: Store,
) -> None:
    store = full_store
    await started_jobs(store, "A", "B")
    first, second = await store.due_deliveries(LATER, limit=10)
    assert store.may_send([first.id, second.id])
    await store.mark_sent([first.id], "<a@notifier>", LATER)
    assert store.may_send([second.id])


async def test_the_backlog_is_due_at_once_when_the_far_end_is_back(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A", "B", "C")
    due = await store.due_deliveries(LATER, limit=10)
    await store.mark_retry(
        [d.id for d in due], "connection refused", T0 + timedelta(hours=1), LATER
    )
    assert await store.reschedule_pending(LATER, ChannelKind.WEBHOOK) == 0
    assert await store.reschedule_pending(LATER, ChannelKind.EMAIL, "SOMEONE@example.com") == 3
    first = await store.due_deliveries(LATER, limit=2)
    rest = await store.due_deliveries(LATER, limit=10)
    assert len(first) == 2
    assert {d.id for d in first} | {d.id for d in rest} == {d.id for d in due}


async def test_dead_and_dropped_deliveries_are_counted_and_can_be_retried(
    full_store: Store,
) -> None:
    store = full_store
    await started_jobs(store, "A", "B")
    first, second = await store.due_deliveries(LATER, limit=10)
    await store.mark_dead([first.id], "550 no such user", LATER)
    assert await store.drop(second.id, LATER) is True
    dead = await store.list_deliveries([DeliveryStatus.DEAD])
    assert [d.last_error for d in dead] == ["550 no such user", "dropped by operator"]
    assert await email_counts(store) == {
        DeliveryStatus.PENDING: 0,
        DeliveryStatus.HELD: 0,
        DeliveryStatus.SENT: 0,
        DeliveryStatus.DEAD: 2,
        DeliveryStatus.SKIPPED: 0,
    }
    days_later = LATER + timedelta(days=3)
    assert await store.retry(first.id, days_later) is True
    assert await store.retry(999_999, days_later) is False
    (back,) = await store.due_deliveries(days_later, limit=10)
    assert (back.id, back.attempts, back.pending_since) == (first.id, 0, days_later)
    assert back.created_at == T0 + timedelta(minutes=1)


async def test_a_skipped_delivery_keeps_its_reason(full_store: Store) -> None:
    store = full_store
    _, events = await started_jobs(store, "A")
    (delivery,) = await store.due_deliveries(LATER, limit=1)
    await store.mark_skipped(delivery.id, "started is not a notified event", LATER)
    (skipped,) = await store.list_deliveries([DeliveryStatus.SKIPPED, DeliveryStatus.DEAD])
    assert (skipped.event, skipped.last_error) == (events[0], "started is not a notified event")


async def test_a_finished_delivery_is_due_once_its_outcome_is_known_and_only_if_wanted(
    full_store: Store,
) -> None:
    store = full_store
    failures_only = RoutingRules(
        routes=(
            Route(to=(Recipient(ChannelKind.EMAIL, TEAM),), outcomes=frozenset({Outcome.FAILED})),
        )
    )
    state, started = await started_jobs(store, "A", routing=failures_only)
    state, events = poll(state, 2, active_job("A", "Done"))
    await store.commit(state, events, plan_all(events, failures_only), T0 + timedelta(minutes=2))
    (waiting,) = await store.awaiting_completion()
    assert waiting.kind is EventKind.FINISHED
    due = await store.due_deliveries(T0 + timedelta(hours=1), 10)
    assert {d.event.id for d in due} == {started[0].id}, "finished is not due before its outcome"
    await store.mark_sent([d.id for d in due], "<s@notifier>", LATER)

    completion = Completion(Outcome.SUCCEEDED, ended_at=T0, duration=timedelta(minutes=61))
    await store.set_completions({waiting.id: completion}, LATER)
    assert await store.awaiting_completion() == []
    done = await store.due_deliveries(T0 + timedelta(hours=1), 10)
    assert [(d.recipient.address, d.completion) for d in done] == [
        ("someone@example.com", completion)
    ]
    (skipped,) = await store.list_deliveries([DeliveryStatus.SKIPPED])
    assert (skipped.recipient.address, skipped.last_error) == (TEAM, SKIP_OUTCOME)


async def test_completions_are_recorded_all_or_none(full_store: Store) -> None:
    store = full_store
    state, _ = await started_jobs(store, "A", "B")
    state, events = poll(state, 2, active_job("A", "Done"), active_job("B", "Done"))
    await store.commit(state, events, plan_all(events, ROUTING), T0 + timedelta(minutes=2))
    first, second = await store.awaiting_completion()
    done = Completion(Outcome.SUCCEEDED, ended_at=T0)
    with pytest.raises(StoreError, match="no event 4242"):
        await store.set_completions({first.id: done, "4242": done}, T0)
    assert len(await store.awaiting_completion()) == 2
    await store.set_completions({first.id: done, second.id: done}, T0)
    assert await store.awaiting_completion() == []


async def test_held_deliveries_go_out_as_one_digest_when_it_is_due(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A", "B", "C")
    due = await store.due_deliveries(LATER, limit=10)
    someone = due[0].recipient
    until = LATER + timedelta(minutes=15)
    await store.hold([d.id for d in due], until, LATER)
    history = await store.burst_history([someone], T0)
    assert history[someone.key].held_until == until and history[someone.key].sends == ()
    assert await store.due_deliveries(until, limit=10) == [], "held ones wait for the digest"
    assert await store.due_digests(until - timedelta(seconds=1), limit=10) == []

    digest = await store.due_digests(until, limit=10)
    assert sorted(d.id for d in digest) == sorted(d.id for d in due)
    assert {d.status for d in digest} == {DeliveryStatus.HELD}
    await store.mark_sent([d.id for d in digest], "<digest@notifier>", until)
    history = await store.burst_history([someone], T0)
    assert history[someone.key].sends == (until,), "a digest counts as one send"
    assert history[someone.key].held_until is None


async def test_an_operators_drop_during_a_send_wins_over_its_retry_but_not_over_its_send(
    full_store: Store,
) -> None:
    """Three emails on the wire when the operator drops them (`notifier outbox drop`): the
    drop stands against a retry, a death or a skip recorded after it; a send that went out
    is recorded sent, with its receipt, because it was."""
    store = full_store
    await started_jobs(store, "A", "B", "C", "D")
    a, b, c, d = await store.due_deliveries(LATER, limit=10)
    for delivery in (a, b, c, d):
        assert await store.drop(delivery.id, LATER)
    await store.mark_retry([a.id], "421 try later", LATER + timedelta(minutes=10), LATER)
    await store.mark_dead([b.id], "550 no such user", LATER)
    await store.mark_skipped(c.id, "not notified", LATER)
    await store.mark_sent([d.id], "<d@notifier>", LATER)
    found = {x.id: x for x in await store.list_deliveries(list(DeliveryStatus))}
    for dropped in (a, b, c):
        assert (found[dropped.id].status, found[dropped.id].last_error) == (
            DeliveryStatus.DEAD,
            "dropped by operator",
        )
    assert (found[d.id].status, found[d.id].receipt) == (DeliveryStatus.SENT, "<d@notifier>")


async def test_marking_a_delivery_that_does_not_exist_is_an_error(full_store: Store) -> None:
    with pytest.raises(StoreError, match="no delivery 4242"):
        await full_store.mark_sent([4242], "<x@y>", T0)
    with pytest.raises(StoreError, match="no delivery 4242"):
        await full_store.mark_skipped(4242, "not notified", T0)


async def test_old_sent_and_skipped_deliveries_are_pruned_and_owed_ones_kept(
    full_store: Store,
) -> None:
    store = full_store
    await started_jobs(store, "A", "B", "C")
    sent, skipped, pending = await store.due_deliveries(LATER, limit=10)
    await store.mark_sent([sent.id], "<a@b>", T0 + timedelta(days=1))
    await store.mark_skipped(skipped.id, "not notified", T0 + timedelta(days=1))
    assert await store.prune(T0 + timedelta(days=1)) == 0
    assert await store.prune(T0 + timedelta(days=30)) == 2
    assert [d.id for d in await store.list_deliveries(list(DeliveryStatus))] == [pending.id]
    await store.check_writable()


async def test_the_longest_due_go_first(full_store: Store) -> None:
    """A delivery retried sooner is due before one created earlier but put off longer."""
    store = full_store
    await started_jobs(store, "A", "B", "C")
    a, b, c = await store.due_deliveries(LATER, limit=10)
    await store.mark_retry([a.id], "421 try later", LATER + timedelta(minutes=30), LATER)
    await store.mark_retry([b.id], "421 try later", LATER + timedelta(minutes=10), LATER)
    await store.mark_retry([c.id], "421 try later", LATER + timedelta(minutes=1), LATER)
    later = LATER + timedelta(hours=1)
    assert [d.id for d in await store.due_deliveries(later, limit=10)] == [c.id, b.id, a.id]
