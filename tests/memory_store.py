"""MemoryStore: the whole Store protocol in memory, for fast tests of logic.

Mirrors the SQLite store (notifier/store/sqlite.py, outbox.py) method for method: one
process, so nothing is claimed, and a result is recorded whatever the row's status, as
there. Its rows are a `MemoryRows` (tests/memory_rows.py) that outlives the store object.
Never the only store a behaviour is tested on: the contract suite (tests/contract) runs the
same tests on SQLite, PostgreSQL and this store, and shows where they differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, PlannedDelivery, Recipient, skip_reason, wanted
from notifier.core.state import TrackedState
from notifier.store.protocol import (
    OWED,
    BurstHistory,
    Delivery,
    DeliveryQuery,
    DeliveryStatus,
    RecipientKey,
    StoreError,
)
from notifier.store.schema import fold
from notifier.store.sqlite import DROPPED_BY_OPERATOR
from tests.memory_rows import MemoryRows, OutboxRow, by_receipt, instant, sent_to

NAME = "in memory"
_MAX_ERROR_TEXT = 2000
_DONE = (DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.DEAD)


class MemoryStore:
    def __init__(self, rows: MemoryRows | None = None) -> None:
        self._held = rows if rows is not None else MemoryRows()
        self._closed = False

    @property
    def _rows(self) -> MemoryRows:
        if self._closed:
            raise StoreError(f"store {NAME} is closed")
        return self._held

    # -- the poller's: StateStore --------------------------------------------------------

    async def load_state(self) -> TrackedState:
        return self._rows.state

    async def commit(
        self,
        state: TrackedState,
        events: Sequence[Event],
        deliveries: Sequence[PlannedDelivery],
        now: datetime,
    ) -> None:
        self._rows.add(events, deliveries, instant(now))
        self._rows.state = state

    # -- the delivery loop's: DeliveryStore ------------------------------------------------

    async def awaiting_completion(self) -> list[Event]:
        rows = self._rows
        waiting = {
            row.event_id
            for row in rows.deliveries.values()
            if row.status is DeliveryStatus.PENDING and not row.ready
        }
        stored = [rows.events[i] for i in waiting if rows.events[i].completion is None]
        stored.sort(key=lambda s: (s.created_at, s.event.id))
        return [s.event for s in stored]

    async def set_completions(self, completions: Mapping[str, Completion], now: datetime) -> None:
        rows = self._rows
        missing = [event_id for event_id in completions if event_id not in rows.events]
        if missing:  # none of them is recorded
            raise StoreError(f"store {NAME} has no event {missing[0]}")
        at = instant(now)
        for event_id, completion in completions.items():
            stored = replace(rows.events[event_id], completion=completion)
            rows.events[event_id] = stored
            rows.replace(_made_ready(stored.event, completion, self._of_event(event_id), at))

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        at = instant(now)
        due = [
            row
            for row in self._rows.deliveries.values()
            if row.status is DeliveryStatus.PENDING and row.ready and row.next_attempt_at <= at
        ]
        due.sort(key=lambda row: (row.next_attempt_at, row.id))  # the longest due first
        return self._rows.read(due[:limit])

    async def due_digests(self, now: datetime, limit: int) -> list[Delivery]:
        # `limit` counts recipients, never rows: a digest is all of its recipient's held rows.
        at = instant(now)
        held = sorted(self._in(DeliveryStatus.HELD), key=_by_recipient)
        due = sorted({_recipient_order(r) for r in held if r.next_attempt_at <= at})[:limit]
        return self._rows.read(r for r in held if _recipient_order(r) in due)

    async def burst_history(
        self, recipients: Sequence[Recipient], since: datetime
    ) -> dict[RecipientKey, BurstHistory]:
        found: dict[RecipientKey, BurstHistory] = {}
        held = self._in(DeliveryStatus.HELD)
        for to in recipients:
            sent = sent_to(self._rows.deliveries.values(), to, instant(since))
            sends = sorted(max(r.updated_at for r in m) for m in by_receipt(sent).values())
            until = [r.next_attempt_at for r in held if r.recipient.key == to.key]
            found[to.key] = BurstHistory(tuple(sends), min(until) if until else None)
        return found

    async def sent_singly(self, recipient: Recipient, since: datetime) -> list[Delivery]:
        sent = sent_to(self._rows.deliveries.values(), recipient, instant(since))
        messages = by_receipt(sent).items()
        single = [m[0] for receipt, m in messages if len(m) == 1 and receipt is not None]
        return self._rows.read(sorted(single, key=lambda r: (r.updated_at, r.id)))

    def may_send(self, delivery_ids: Sequence[int]) -> bool:
        return True  # one process: nobody else sends these

    async def hold(self, delivery_ids: Sequence[int], until: datetime, now: datetime) -> None:
        def held(row: OutboxRow) -> OutboxRow:
            return replace(row, status=DeliveryStatus.HELD, next_attempt_at=instant(until))

        self._mark(delivery_ids, now, held, only=(DeliveryStatus.PENDING,))

    async def mark_sent(self, delivery_ids: Sequence[int], receipt: str, now: datetime) -> None:
        def sent(row: OutboxRow) -> OutboxRow:
            return replace(
                row, status=DeliveryStatus.SENT, receipt=receipt, attempts=row.attempts + 1
            )

        self._mark(delivery_ids, now, sent, only=(*OWED, DeliveryStatus.DEAD))

    async def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        def failed(row: OutboxRow) -> OutboxRow:
            return replace(
                row,
                attempts=row.attempts + 1,
                last_error=_clip(error),
                next_attempt_at=instant(next_attempt_at),
            )

        self._mark(delivery_ids, now, failed, only=OWED)

    async def mark_dead(self, delivery_ids: Sequence[int], error: str, now: datetime) -> None:
        def dead(row: OutboxRow) -> OutboxRow:
            return replace(
                row, status=DeliveryStatus.DEAD, attempts=row.attempts + 1, last_error=_clip(error)
            )

        self._mark(delivery_ids, now, dead, only=OWED)

    async def mark_skipped(self, delivery_id: int, reason: str, now: datetime) -> None:
        def skipped(row: OutboxRow) -> OutboxRow:
            return replace(row, status=DeliveryStatus.SKIPPED, last_error=_clip(reason))

        self._mark([delivery_id], now, skipped, only=OWED)

    async def reschedule_pending(
        self, now: datetime, channel: ChannelKind, recipient: str | None = None
    ) -> int:
        at = instant(now)
        late = [
            row
            for row in self._in(DeliveryStatus.PENDING)
            if row.next_attempt_at > at
            and row.recipient.channel is channel
            and (recipient is None or row.recipient.key[1] == fold(recipient))
        ]
        self._rows.replace(replace(r, next_attempt_at=at, updated_at=at) for r in late)
        return len(late)

    async def check_writable(self) -> None:
        if self._closed:  # memory is always writable, until the store is closed
            raise StoreError(f"store {NAME} is closed")

    # -- the operator's: OperatorStore -----------------------------------------------------

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]:
        return self._rows.read(self._in(*statuses)[:limit])

    async def find_deliveries(self, query: DeliveryQuery, limit: int = 1000) -> list[Delivery]:
        rows = self._rows
        found = [row for row in rows.deliveries.values() if rows.matches(query, row)]
        return rows.read(found[-limit:] if limit > 0 else [])

    async def delivery(self, delivery_id: int) -> Delivery | None:
        row = self._rows.deliveries.get(delivery_id)
        return None if row is None else self._rows.delivery(row)

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        rows, at = self._rows, instant(now)
        row = rows.deliveries.get(delivery_id)
        if row is None or row.status not in (DeliveryStatus.DEAD, DeliveryStatus.SKIPPED):
            return False
        ready = not rows.events[row.event_id].waits_for_outcome
        rows.replace([_pending_again(row, ready, at)])
        return True

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        rows, at = self._rows, instant(now)
        row = rows.deliveries.get(delivery_id)
        if row is not None and row.status is DeliveryStatus.DEAD:
            was = "" if row.last_error is None else f"; was dead: {row.last_error}"
            status, reason = DeliveryStatus.SKIPPED, DROPPED_BY_OPERATOR + was
        elif row is not None and row.status in OWED:
            status, reason = DeliveryStatus.DEAD, DROPPED_BY_OPERATOR
        else:
            return False
        rows.replace([replace(row, status=status, last_error=reason, updated_at=at)])
        return True

    async def prune(self, before: datetime) -> int:
        rows, at = self._rows, instant(before)
        gone = [r.id for r in rows.deliveries.values() if r.status in _DONE and r.updated_at < at]
        for ident in gone:
            del rows.deliveries[ident]
        kept = {row.event_id for row in rows.deliveries.values()}
        for event_id, stored in list(rows.events.items()):
            if stored.created_at < at and event_id not in kept:
                del rows.events[event_id]
        return len(gone)

    async def counts(self) -> dict[tuple[ChannelKind, DeliveryStatus], int]:
        found = {(c, s): 0 for c in ChannelKind for s in DeliveryStatus}
        for row in self._rows.deliveries.values():
            found[(row.recipient.channel, row.status)] += 1
        return found

    async def oldest_owed(self) -> dict[ChannelKind, datetime]:
        oldest: dict[ChannelKind, datetime] = {}
        for row in self._in(*OWED):
            channel = row.recipient.channel
            oldest[channel] = min(oldest.get(channel, row.pending_since), row.pending_since)
        return oldest

    async def close(self) -> None:
        self._closed = True

    # -- rows ------------------------------------------------------------------------------

    def _in(self, *statuses: DeliveryStatus) -> list[OutboxRow]:
        return [row for row in self._rows.deliveries.values() if row.status in statuses]

    def _of_event(self, event_id: str) -> list[OutboxRow]:
        return [row for row in self._rows.deliveries.values() if row.event_id == event_id]

    def _mark(
        self,
        ids: Sequence[int],
        now: datetime,
        change: Callable[[OutboxRow], OutboxRow],
        only: tuple[DeliveryStatus, ...],
    ) -> None:
        """Change those of these deliveries in a status of `only`; as with SQLite, an id not
        in the store is an error (all the missing named), one in another status is left."""
        rows, at = self._rows, instant(now)
        found = [rows.deliveries[i] for i in dict.fromkeys(ids) if i in rows.deliveries]
        rows.replace(replace(change(r), updated_at=at) for r in found if r.status in only)
        missing = [str(i) for i in dict.fromkeys(ids) if i not in rows.deliveries]
        if missing:
            raise StoreError(f"store {NAME} has no delivery {', '.join(missing)}")


def _made_ready(
    event: Event, done: Completion, deliveries: Iterable[OutboxRow], now: datetime
) -> list[OutboxRow]:
    """The event's deliveries made ready; those not wanted for the outcome skipped, with
    the reason `notifier.core.routing.skip_reason` gives (a pending one only, as there)."""
    changed: list[OutboxRow] = []
    for row in deliveries:
        if row.ready:
            continue
        if wanted(row.outcomes, done.outcome):
            changed.append(replace(row, ready=True))
        elif row.status is DeliveryStatus.PENDING:
            reason = skip_reason(event, row.recipient, done.outcome)
            skipped = DeliveryStatus.SKIPPED
            changed.append(
                replace(row, ready=True, status=skipped, last_error=reason, updated_at=now)
            )
    return changed


def _pending_again(row: OutboxRow, ready: bool, at: datetime) -> OutboxRow:
    return replace(
        row,
        status=DeliveryStatus.PENDING,
        attempts=0,
        ready=ready,
        next_attempt_at=at,
        pending_since=at,
        updated_at=at,
    )


def _recipient_order(row: OutboxRow) -> tuple[str, str]:
    """A recipient as SQLite sorts it: by channel, then as compared."""
    channel, key = row.recipient.key
    return channel.value, key


def _by_recipient(row: OutboxRow) -> tuple[str, str, int]:
    return (*_recipient_order(row), row.id)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
