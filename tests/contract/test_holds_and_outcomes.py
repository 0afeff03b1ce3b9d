"""The outbox's finer rules, the same on every store: what a digest takes, what the far end
coming back makes due, what an operator's retry or drop of a `finished` delivery does while
its outcome is unknown, and deliveries counted by channel."""

from __future__ import annotations

from datetime import timedelta

from notifier.core.events import Event
from notifier.core.routing import ChannelKind, Recipient, Route, RoutingRules
from notifier.store.protocol import Store
from tests.contract.test_outbox import LATER, started_jobs

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


async def due_of(store: Store, event: Event) -> list[int]:
    """The ids of the event's deliveries due now."""
    return [d.id for d in await store.due_deliveries(LATER, 10) if d.event.id == event.id]
