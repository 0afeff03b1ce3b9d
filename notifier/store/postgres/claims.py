"""The delivery half of the PostgreSQL store: claiming due deliveries, recording results.

Owns the claim: a replica takes due, unclaimed deliveries with `FOR UPDATE SKIP LOCKED`, so
two replicas never take the same row, and marks them `claimed_by` itself `claimed_until`
a lease on the server's clock (the replicas' clocks are never compared). A replica that
dies holding claims loses them when the lease runs out; another replica then takes them.
A result is recorded only by the claim's holder (or on a row nobody claims), except `sent`,
which is always recorded: the message went out, and a repeat must not follow.

Only ready deliveries are claimed (a `finished` one once its outcome is known). Held ones
are claimed as a recipient's whole digest, once it is due (`claim_digests`), and only when
no part of that recipient's digest is claimed by another replica. Never touches tracked
state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import LiteralString

import psycopg
from psycopg_pool import AsyncConnectionPool

from notifier.core.codec import decode_completion, decode_event
from notifier.core.routing import ChannelKind, Recipient
from notifier.store.postgres.target import Connection, PostgresTarget, database_error
from notifier.store.protocol import Delivery, DeliveryStatus

_CLAIM: LiteralString = (
    "WITH claimed AS (UPDATE deliveries SET claimed_by = %(holder)s,"
    " claimed_until = clock_timestamp() + %(lease)s"
    " WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND ready"
    " AND next_attempt_at <= %(now)s"
    " AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())"
    " ORDER BY next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
    " RETURNING id, event_id, channel, recipient, locale, status, attempts, created_at,"
    " next_attempt_at, last_error, receipt, pending_since, updated_at)"
    " SELECT c.id, e.event, c.channel, c.recipient, c.locale, c.status, c.attempts,"
    " c.created_at, c.next_attempt_at, c.last_error, c.receipt, e.completion, c.pending_since,"
    " c.updated_at FROM claimed AS c JOIN events AS e ON e.id = c.event_id"
    " ORDER BY c.next_attempt_at, c.id"
)
_CLAIM_DIGESTS: LiteralString = (  # `limit` counts recipients: a digest is all of its rows
    "WITH due AS (SELECT DISTINCT r.channel, r.recipient_key FROM deliveries AS r"
    " WHERE r.status = 'held' AND r.next_attempt_at <= %(now)s"
    " AND NOT EXISTS (SELECT 1 FROM deliveries AS x WHERE x.status = 'held'"
    " AND x.channel = r.channel AND x.recipient_key = r.recipient_key"
    " AND x.claimed_until > clock_timestamp())"
    " ORDER BY r.channel, r.recipient_key LIMIT %(limit)s),"
    " claimed AS (UPDATE deliveries SET claimed_by = %(holder)s,"
    " claimed_until = clock_timestamp() + %(lease)s"
    " WHERE id IN (SELECT d.id FROM deliveries AS d WHERE d.status = 'held'"
    " AND (d.channel, d.recipient_key) IN (SELECT channel, recipient_key FROM due)"
    " ORDER BY d.channel, d.recipient_key, d.id FOR UPDATE SKIP LOCKED)"
    " RETURNING id, event_id, channel, recipient, recipient_key, locale, status, attempts,"
    " created_at, next_attempt_at, last_error, receipt, pending_since, updated_at)"
    " SELECT c.id, e.event, c.channel, c.recipient, c.locale, c.status, c.attempts,"
    " c.created_at, c.next_attempt_at, c.last_error, c.receipt, e.completion, c.pending_since,"
    " c.updated_at FROM claimed AS c JOIN events AS e ON e.id = c.event_id"
    " ORDER BY c.channel, c.recipient_key, c.id"
)
_SENT: LiteralString = (
    "UPDATE deliveries SET status = 'sent', receipt = %s, attempts = attempts + 1,"
    " updated_at = %s, claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ANY(%s) AND status IN ('pending', 'held')"
)
_RETRY: LiteralString = (
    "UPDATE deliveries SET attempts = attempts + 1, last_error = %s, next_attempt_at = %s,"
    " updated_at = %s, claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ANY(%s) AND status IN ('pending', 'held')"
    " AND (claimed_by = %s OR claimed_by IS NULL)"
)
_DEAD: LiteralString = (
    "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = %s,"
    " updated_at = %s, claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ANY(%s) AND status IN ('pending', 'held')"
    " AND (claimed_by = %s OR claimed_by IS NULL)"
)
_MAX_ERROR_TEXT = 2000


class DeliveryClaims:
    """One replica's claims on the shared outbox. `holder` names the replica (host, pid)."""

    def __init__(
        self, pool: AsyncConnectionPool[Connection], target: PostgresTarget, holder: str,
        lease: float,
    ) -> None:  # fmt: skip
        self._pool = pool
        self._target = target
        self._holder = holder
        self._lease = timedelta(seconds=lease)

    async def claim_due(self, now: datetime, limit: int) -> list[Delivery]:
        """Claim up to `limit` ready pending deliveries due at `now` that nobody holds,
        oldest due first; they are this replica's until a result is recorded or the lease
        runs out."""
        args = {"holder": self._holder, "lease": self._lease, "now": now, "limit": limit}
        return [delivery_of(row) for row in await self._fetch(_CLAIM, args)]

    async def claim_digests(self, now: datetime, limit: int) -> list[Delivery]:
        """Claim the held deliveries of up to `limit` recipients whose digest is due (any of
        its held rows is) and whose digest nobody else holds: all of each one's held rows,
        however many, grouped by recipient."""
        args = {"holder": self._holder, "lease": self._lease, "now": now, "limit": limit}
        return [delivery_of(row) for row in await self._fetch(_CLAIM_DIGESTS, args)]

    async def mark_sent(self, delivery_ids: Sequence[int], receipt: str, now: datetime) -> int:
        """Recorded whoever holds the claims; how many were still owed."""
        return await self._update(_SENT, (receipt, now, list(delivery_ids)))

    async def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime, now: datetime
    ) -> int:
        """Recorded for the deliveries this replica still holds; how many."""
        args = (_clip(error), next_attempt_at, now, list(delivery_ids), self._holder)
        return await self._update(_RETRY, args)

    async def mark_dead(self, delivery_ids: Sequence[int], error: str, now: datetime) -> int:
        """Recorded for the deliveries this replica still holds; how many."""
        args = (_clip(error), now, list(delivery_ids), self._holder)
        return await self._update(_DEAD, args)

    async def _fetch(
        self, query: LiteralString, args: dict[str, object]
    ) -> list[tuple[object, ...]]:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(query, args)
                return await cursor.fetchall()
        except psycopg.Error as exc:
            raise database_error(self._target, exc) from None

    async def _update(self, query: LiteralString, args: tuple[object, ...]) -> int:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(query, args)
                return max(cursor.rowcount, 0)
        except psycopg.Error as exc:
            raise database_error(self._target, exc) from None


def delivery_of(row: tuple[object, ...]) -> Delivery:
    (ident, event, channel, address, locale, status, attempts, created, due, error) = row[:10]
    receipt, completion, since, updated = row[10:]
    assert isinstance(created, datetime) and isinstance(due, datetime)
    assert isinstance(since, datetime) and isinstance(updated, datetime)
    return Delivery(
        id=int(str(ident)),
        event=decode_event(str(event)),
        recipient=Recipient(
            ChannelKind(str(channel)), str(address), None if locale is None else str(locale)
        ),
        status=DeliveryStatus(str(status)),
        attempts=int(str(attempts)),
        created_at=created,
        next_attempt_at=due,
        last_error=None if error is None else str(error),
        receipt=None if receipt is None else str(receipt),
        completion=None if completion is None else decode_completion(str(completion)),
        pending_since=since,
        updated_at=updated,
    )


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
