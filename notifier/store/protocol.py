"""The store's contract: what the daemon and the dispatcher may ask of persistence.

SQLite implements it today; a PostgreSQL implementation can follow without touching core/
or mail/. Every method is async: implementations keep blocking work off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from notifier.core.events import Completion, Event
from notifier.core.state import TrackedState


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: the email owed for one event to its job's submitter.

    `pending_since` is when the row last became pending: its creation, or an operator's
    `retry`. A maximum age counts from it, so a retried delivery gets a fresh chance.
    """

    id: int
    event: Event
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    message_id: str | None = None
    completion: Completion | None = None
    pending_since: datetime | None = None


class StoreError(Exception):
    """Base of store errors."""


class StoreUnavailableError(StoreError):
    """The store cannot be written (disk full, read-only, locked): stop taking work."""


class Store(Protocol):
    async def load_state(self) -> TrackedState:
        """The tracked state as last committed (empty on a new store)."""
        ...

    async def commit(self, state: TrackedState, events: Sequence[Event], now: datetime) -> None:
        """Write the new state and one pending delivery per event in ONE transaction.

        Only rows that changed since the last commit are written. An event whose id is
        already in the outbox is not added again.
        """
        ...

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        ...

    async def awaiting_completion(self) -> list[Delivery]:
        """Pending `finished` deliveries whose outcome is not known yet."""
        ...

    async def set_completions(self, completions: Mapping[int, Completion]) -> None:
        """Each delivery's (by id) outcome, in one transaction."""
        ...

    async def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> None: ...

    async def mark_retry(
        self, delivery_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None: ...

    async def mark_dead(self, delivery_id: int, error: str, now: datetime) -> None: ...

    async def mark_skipped(self, delivery_id: int, reason: str, now: datetime) -> None: ...

    async def reschedule_pending(self, now: datetime) -> int:
        """Make every pending delivery due now (the mail server is back); returns how many."""
        ...

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]: ...

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        """Put a dead or skipped delivery back to pending, due now. False if no such row."""
        ...

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        """Give up a pending delivery: it becomes dead with reason 'dropped by operator'."""
        ...

    async def counts(self) -> dict[DeliveryStatus, int]: ...

    async def check_writable(self) -> None:
        """Raise StoreUnavailableError when a write would fail now."""
        ...

    async def close(self) -> None: ...
