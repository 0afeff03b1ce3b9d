"""The outbox's finer rules, the same on every store: what a digest takes, what the far end
coming back makes due, what an operator's retry or drop of a `finished` delivery does while
its outcome is unknown, and deliveries counted by channel."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from notifier.core.events import Completion, Event, Outcome
from notifier.core.routing import ChannelKind, Recipient, Route, RoutingRules, plan_all
from notifier.store.protocol import DeliveryStatus, Store, StoreError
from tests.contract.test_outbox import LATER, T0, active_job, poll, started_jobs

SOMEONE = Recipient(ChannelKind.EMAIL, "someone@example.com")
TEAM = Recipient(ChannelKind.EMAIL, "dam-team@example.com")
OPS = Recipient(ChannelKind.WEBHOOK, "ops")
TO_TEAM = RoutingRules(routes=(Route(to=(TEAM,)),))


async def test_a_digest_is_all_of_a_recipients_held_deliveries_whatever_the_limit(
    full_store: Store,
) -> None:
    store = full_store
    await started_jobs(store, "A", "B", "C", routing=TO_TEAM)
    due = await store.due_deliveries(LATER, limit=10)
    until = LATER + timedelta(minutes=15)
    await store.hold([d.id for d in due], until, LATER)

    team, someone = [
        sorted(d.id for d in due if d.recipient.key == to.key) for to in (TEAM, SOMEONE)
    ]
    first = await store.due_digests(until, limit=1)
    assert [d.id for d in first] == team, "one recipient: all three of its held ones"
    await store.mark_sent([d.id for d in first], "<team@notifier>", until)
    second = await store.due_digests(until, limit=1)
    assert [d.id for d in second] == someone


async def test_a_digest_is_due_when_its_earliest_held_delivery_is(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A", "B")
    first, second = await store.due_deliveries(LATER, limit=10)
    soon, later = LATER + timedelta(minutes=15), LATER + timedelta(minutes=30)
    await store.hold([first.id], soon, LATER)
    await store.hold([second.id], later, LATER + timedelta(minutes=1))
    history = await store.burst_history([first.recipient], T0)
    assert history[first.recipient.key].held_until == soon
    assert await store.due_digests(soon - timedelta(seconds=1), limit=10) == []
    digest = await store.due_digests(soon, limit=10)
    assert [d.id for d in digest] == [first.id, second.id], "the later one goes with it"


async def test_only_a_pending_delivery_is_held(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A")
    (delivery,) = await store.due_deliveries(LATER, limit=10)
    await store.mark_sent([delivery.id], "<a@notifier>", LATER)
    # SQLite reports the row it did not change; PostgreSQL logs it (a twin may have sent it).
    with contextlib.suppress(StoreError):
        await store.hold([delivery.id], LATER + timedelta(minutes=15), LATER)
    sent = await store.delivery(delivery.id)
    assert sent is not None and sent.status is DeliveryStatus.SENT
    assert await store.due_digests(LATER + timedelta(days=1), limit=10) == []


async def test_the_far_end_back_for_one_recipient_makes_only_its_pending_ones_due(
    full_store: Store,
) -> None:
    store = full_store
    await started_jobs(store, "A", "B", routing=TO_TEAM)
    due = await store.due_deliveries(LATER, limit=10)
    mine = [d for d in due if d.recipient.key == SOMEONE.key]
    theirs = [d for d in due if d.recipient.key == TEAM.key]
    until = LATER + timedelta(minutes=15)
    await store.hold([mine[0].id], until, LATER)
    later = LATER + timedelta(hours=1)
    await store.mark_retry([mine[1].id, *(d.id for d in theirs)], "421 busy", later, LATER)

    assert await store.reschedule_pending(LATER, ChannelKind.EMAIL, "DAM-team@example.com") == 2
    again = await store.due_deliveries(LATER, 10)
    assert sorted(d.id for d in again) == [d.id for d in theirs]
    await store.mark_sent([d.id for d in again], "<team@notifier>", LATER)
    assert await store.reschedule_pending(LATER, ChannelKind.EMAIL) == 1, "the held one waits"
    (back,) = await store.due_deliveries(LATER, 10)
    assert back.id == mine[1].id
    history = await store.burst_history([SOMEONE], T0)
    assert history[SOMEONE.key].held_until == until, "a held one keeps its digest's time"


async def test_a_finished_delivery_retried_before_its_outcome_still_waits_for_it(
    full_store: Store,
) -> None:
    store = full_store
    failures_only = RoutingRules(routes=(Route(to=(TEAM,), outcomes=frozenset({Outcome.FAILED})),))
    state, _ = await started_jobs(store, "A", routing=failures_only)
    state, events = poll(state, 2, active_job("A", "Done"))
    await store.commit(state, events, plan_all(events, failures_only), T0 + timedelta(minutes=2))
    waiting = await store.list_deliveries([DeliveryStatus.PENDING])
    mine, theirs = [
        next(d for d in waiting if d.event.id == events[0].id and d.recipient.key == to.key)
        for to in (SOMEONE, TEAM)
    ]
    assert await store.drop(mine.id, LATER) and await store.drop(theirs.id, LATER)
    assert await store.retry(mine.id, LATER)
    assert await due_of(store, events[0]) == [], "not before its outcome is known"
    assert [e.id for e in await store.awaiting_completion()] == [events[0].id]

    await store.set_completions({events[0].id: Completion(Outcome.SUCCEEDED, ended_at=T0)}, LATER)
    assert await due_of(store, events[0]) == [mine.id]
    dropped = await store.delivery(theirs.id)
    assert dropped is not None
    assert (dropped.status, dropped.last_error) == (DeliveryStatus.DEAD, "dropped by operator")


async def test_an_event_committed_again_keeps_its_outcome(full_store: Store) -> None:
    store = full_store
    state, _ = await started_jobs(store, "A")
    state, events = poll(state, 2, active_job("A", "Done"))
    await store.commit(state, events, plan_all(events, RoutingRules()), T0 + timedelta(minutes=2))
    done = Completion(Outcome.FAILED, ended_at=T0)
    await store.set_completions({events[0].id: done}, LATER)
    await store.commit(state, events, plan_all(events, RoutingRules()), LATER)  # a replay

    assert await store.awaiting_completion() == []
    finished = [d for d in await store.due_deliveries(LATER, 10) if d.event.id == events[0].id]
    assert [(d.completion, d.created_at) for d in finished] == [(done, T0 + timedelta(minutes=2))]


async def test_deliveries_are_counted_and_owed_by_channel(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A", routing=RoutingRules(routes=(Route(to=(OPS,)),)))
    email, webhook = sorted(await store.due_deliveries(LATER, 10), key=lambda d: d.channel)
    assert (email.channel, webhook.channel) == (ChannelKind.EMAIL, ChannelKind.WEBHOOK)
    await store.mark_sent([email.id], "<a@notifier>", LATER)
    await store.hold([webhook.id], LATER + timedelta(minutes=15), LATER)

    counts = await store.counts()
    assert {pair: n for pair, n in counts.items() if n} == {
        (ChannelKind.EMAIL, DeliveryStatus.SENT): 1,
        (ChannelKind.WEBHOOK, DeliveryStatus.HELD): 1,
    }
    assert await store.oldest_owed() == {ChannelKind.WEBHOOK: T0 + timedelta(minutes=1)}
    assert await store.reschedule_pending(LATER, ChannelKind.WEBHOOK) == 0


async def due_of(store: Store, event: Event) -> list[int]:
    """The ids of the event's deliveries due now."""
    return [d.id for d in await store.due_deliveries(LATER, 10) if d.event.id == event.id]
