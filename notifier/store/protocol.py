"""The store's contract, split by who needs what: the poller (`StateStore`), the delivery
loop (`DeliveryStore`) and the operator's commands (`OperatorStore`). `Store` is all three.

SQLite implements it today; a PostgreSQL implementation can follow without touching core/,
delivery/ or mail/. Every method is async: implementations keep blocking work off the loop.

The outbox holds deliveries keyed by (event, channel, recipient). An event's deliveries are
written in the same transaction as the tracked state that implies them. A delivery is
*ready* when what it needs is known (for `finished`: the outcome); only ready deliveries
are ever returned as due. A *held* delivery waits for its recipient's digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, PlannedDelivery, Recipient
from notifier.core.state import TrackedState


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    HELD = "held"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"


OWED = (DeliveryStatus.PENDING, DeliveryStatus.HELD)
"""The statuses of deliveries still to be made."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: the message owed to one recipient about one event.

    `pending_since` is when the row last became pending: its creation, or an operator's
    `retry`. A maximum age counts from it, so a retried delivery gets a fresh chance.
    `next_attempt_at` is, for a held delivery, when its digest is due. `receipt` is what the
    channel answered (the email's Message-ID). `updated_at`: its last change (for a sent
    one, when it was sent).
    """

    id: int
    event: Event
    recipient: Recipient
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    receipt: str | None = None
    completion: Completion | None = None
    pending_since: datetime | None = None
    updated_at: datetime | None = None

    @property
    def channel(self) -> ChannelKind:
        return self.recipient.channel


@dataclass(frozen=True, slots=True)
class BurstHistory:
    """One recipient's recent past on one channel, for the digest decision: when messages
    went out to it (a digest counts once), and until when its held deliveries wait."""

    sends: tuple[datetime, ...] = ()
    held_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """Which deliveries an operator asks for: in these statuses, to this recipient (an
    address, compared case-insensitively, or a webhook), of this job (its handle or its
    name), created at or after `since`. None: any."""

    statuses: tuple[DeliveryStatus, ...]
    recipient: Recipient | None = None
    job: str | None = None
    since: datetime | None = None


RecipientKey = tuple[ChannelKind, str]
OutboxCounts = Mapping[tuple[ChannelKind, DeliveryStatus], int]


class StoreError(Exception):
    """Base of store errors."""


class StoreUnavailableError(StoreError):
    """The store cannot be written (disk full, read-only, locked): stop taking work."""


class StateStore(Protocol):
    """What the poller needs."""

    async def load_state(self) -> TrackedState:
        """The tracked state as last committed (empty on a new store)."""
        ...

    async def commit(
        self,
        state: TrackedState,
        events: Sequence[Event],
        deliveries: Sequence[PlannedDelivery],
        now: datetime,
    ) -> None:
        """Write the new state, the events and the deliveries they imply in ONE transaction.

        A planned delivery with a `skip` reason is recorded skipped. An event already stored
        is not added again, nor a delivery already there for the same (event, channel,
        recipient).
        """
        ...


class DeliveryStore(Protocol):
    """What the delivery loop needs."""

    async def awaiting_completion(self) -> list[Event]:
        """`finished` events with deliveries owed whose outcome is not known yet."""
        ...

    async def set_completions(self, completions: Mapping[str, Completion], now: datetime) -> None:
        """Each event's (by id) outcome, in one transaction. Its deliveries become ready;
        those planned for other outcomes only (a route's `outcomes`, the submitter's in
        `notify.ips_emails = "complement"`) are skipped with the reason
        `notifier.core.routing.skip_reason` gives, the same in every store."""
        ...

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        """Ready pending deliveries whose next attempt is due, the longest due first (by
        next attempt, then as created)."""
        ...

    async def due_digests(self, now: datetime, limit: int) -> list[Delivery]:
        """Held deliveries of the recipients (at most `limit` of them) whose digest is due
        (any of its held rows is): all of each one's held rows, however many, grouped by
        recipient, oldest first."""
        ...

    async def burst_history(
        self, recipients: Sequence[Recipient], since: datetime
    ) -> dict[RecipientKey, BurstHistory]:
        """For each recipient (by `Recipient.key`): its sends since `since` and its hold."""
        ...

    async def sent_singly(self, recipient: Recipient, since: datetime) -> list[Delivery]:
        """The deliveries sent to `recipient` on its channel since `since` one message each
        (not in a digest), oldest first: what a digest lists as already sent."""
        ...

    def may_send(self, delivery_ids: Sequence[int]) -> bool:
        """True while these deliveries (as `due_deliveries` or `due_digests` returned them)
        are still this process's to send; checked just before each send. Always true on a
        store of one process; on a shared store false once its claims may have run out, so
        a replica cut off from the store sends no more of what another may send too."""
        ...

    async def hold(self, delivery_ids: Sequence[int], until: datetime, now: datetime) -> None:
        """Hold these deliveries for their recipient's digest, due at `until`."""
        ...

    async def mark_sent(self, delivery_ids: Sequence[int], receipt: str, now: datetime) -> None:
        """Sent (one message, or one digest of all of them), with the channel's receipt."""
        ...

    async def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        """Failed for now; tried again at `next_attempt_at` (held ones stay held)."""
        ...

    async def mark_dead(self, delivery_ids: Sequence[int], error: str, now: datetime) -> None: ...

    async def mark_skipped(self, delivery_id: int, reason: str, now: datetime) -> None: ...

    async def reschedule_pending(
        self, now: datetime, channel: ChannelKind, recipient: str | None = None
    ) -> int:
        """Make every pending delivery of the channel (and recipient, if given) due now: the
        far end is back. Held deliveries keep their digest's time. Returns how many."""
        ...

    async def check_writable(self) -> None:
        """Raise StoreUnavailableError when a write would fail now."""
        ...


class OperatorStore(Protocol):
    """What `notifier outbox`, the status line and the metrics need."""

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]: ...

    async def find_deliveries(self, query: DeliveryQuery, limit: int = 1000) -> list[Delivery]:
        """The newest `limit` deliveries `query` matches, oldest first."""
        ...

    async def delivery(self, delivery_id: int) -> Delivery | None: ...

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        """Put a dead or skipped delivery back to pending, due now. False if no such row."""
        ...

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        """Give up a delivery: an owed one becomes dead with reason 'dropped by operator';
        a dead one is set aside (skipped, its reason kept after 'dropped by operator'), so it
        no longer counts as a dead letter. False if no such row in those states."""
        ...

    async def prune(self, before: datetime) -> int:
        """Forget sent, skipped and dead deliveries last touched before `before` (and events
        left without deliveries); returns how many deliveries."""
        ...

    async def counts(self) -> OutboxCounts:
        """Deliveries by (channel, status); absent pairs are 0."""
        ...

    async def oldest_owed(self) -> Mapping[ChannelKind, datetime]:
        """By channel, when its oldest owed (pending or held) delivery became pending;
        channels owing nothing are absent."""
        ...


class Store(StateStore, DeliveryStore, OperatorStore, Protocol):
    """Everything, for the daemon that wires the parts."""

    async def close(self) -> None: ...
