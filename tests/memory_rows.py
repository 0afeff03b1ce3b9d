"""The rows of the in-memory store (tests/memory_store.py): the tracked state, the events
and the outbox, held in a `MemoryRows` that outlives one store object, so that "reopening"
finds what was committed, as with a file or a database.

Owns the row layout and the rules the SQLite store's statements spell out row by row
(notifier/store/outbox.py): what a commit adds, when a delivery is ready, what an operator's
query matches, what a row reads as. Rows are frozen: a change replaces the row, so that a
store method builds every change before it writes any. Never does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.routing import ChannelKind, PlannedDelivery, Recipient
from notifier.core.state import TrackedState
from notifier.store import rows
from notifier.store.protocol import Delivery, DeliveryQuery, DeliveryStatus

OutboxKey = tuple[str, ChannelKind, str]
"""What makes a delivery unique: (event id, channel, recipient as compared)."""


def instant(at: datetime) -> datetime:
    """`at` as the SQLite store keeps it: to the microsecond, in UTC; a naive datetime,
    whose instant is unknown, is refused as it is there."""
    return rows.from_micros(rows.micros(at))


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: Event
    created_at: datetime
    completion: Completion | None = None

    @property
    def waits_for_outcome(self) -> bool:
        return self.event.kind is EventKind.FINISHED and self.completion is None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One delivery as the outbox holds it; `ready` is False while a `finished` event's
    outcome is unknown, `outcomes` the outcomes it is sent for (empty: all)."""

    id: int
    event_id: str
    recipient: Recipient
    outcomes: frozenset[Outcome]
    ready: bool
    status: DeliveryStatus
    created_at: datetime
    pending_since: datetime
    next_attempt_at: datetime
    updated_at: datetime
    attempts: int = 0
    last_error: str | None = None
    receipt: str | None = None

    @property
    def key(self) -> OutboxKey:
        return (self.event_id, *self.recipient.key)


@dataclass(slots=True)
class MemoryRows:
    """Everything one in-memory store holds; `deliveries` by id, in the order added."""

    state: TrackedState = field(default_factory=TrackedState)
    events: dict[str, StoredEvent] = field(default_factory=dict)
    deliveries: dict[int, OutboxRow] = field(default_factory=dict)
    last_id: int = 0  # ids are never reused, as with SQLite's AUTOINCREMENT

    def add(
        self, events: Sequence[Event], planned: Sequence[PlannedDelivery], now: datetime
    ) -> None:
        """The events (once each) and their planned deliveries (once per recipient): a
        skipped one with its reason, a `finished` one not ready until its outcome is known."""
        for event in events:
            self.events.setdefault(event.id, StoredEvent(event, now))
        waiting = {e.id for e in events if e.kind is EventKind.FINISHED}
        present = {row.key for row in self.deliveries.values()}
        for plan in planned:
            row = self._planned_row(plan, ready=plan.event_id not in waiting, now=now)
            if row.key not in present:
                present.add(row.key)
                self.deliveries[row.id] = row

    def _planned_row(self, plan: PlannedDelivery, ready: bool, now: datetime) -> OutboxRow:
        self.last_id += 1
        return OutboxRow(
            id=self.last_id,
            event_id=plan.event_id,
            recipient=plan.recipient,
            outcomes=plan.outcomes,
            ready=ready or bool(plan.skip),
            status=DeliveryStatus.SKIPPED if plan.skip else DeliveryStatus.PENDING,
            created_at=now,
            pending_since=now,
            next_attempt_at=now,
            updated_at=now,
            last_error=plan.skip or None,
        )

    def replace(self, changed: Iterable[OutboxRow]) -> None:
        for row in changed:
            self.deliveries[row.id] = row

    def delivery(self, row: OutboxRow) -> Delivery:
        stored = self.events[row.event_id]
        return Delivery(
            id=row.id,
            event=stored.event,
            recipient=row.recipient,
            status=row.status,
            attempts=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            receipt=row.receipt,
            completion=stored.completion,
            pending_since=row.pending_since,
            updated_at=row.updated_at,
        )

    def read(self, found: Iterable[OutboxRow]) -> list[Delivery]:
        return [self.delivery(row) for row in found]

    def matches(self, query: DeliveryQuery, row: OutboxRow) -> bool:
        """Whether `query` asks for `row`, as outbox.py's `query_where`: status, recipient
        (as compared), the job's handle or name, created at or after `since`."""
        if row.status not in query.statuses:
            return False
        if query.recipient is not None and row.recipient.key != query.recipient.key:
            return False
        job = self.events[row.event_id].event.job
        if query.job is not None and query.job not in (job.job_handle, job.name):
            return False
        return query.since is None or row.created_at >= instant(query.since)


def sent_to(
    deliveries: Iterable[OutboxRow], recipient: Recipient, since: datetime
) -> list[OutboxRow]:
    """The recipient's deliveries on its channel sent at or after `since`."""
    return [
        row
        for row in deliveries
        if row.recipient.key == recipient.key
        and row.status is DeliveryStatus.SENT
        and row.updated_at >= since
    ]


def by_receipt(sent: Iterable[OutboxRow]) -> dict[str | None, list[OutboxRow]]:
    """Sent deliveries by the message they went out in (a digest's share its receipt)."""
    messages: dict[str | None, list[OutboxRow]] = {}
    for row in sent:
        messages.setdefault(row.receipt, []).append(row)
    return messages
