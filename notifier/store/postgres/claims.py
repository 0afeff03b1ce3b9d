"""The delivery half of the PostgreSQL store: claiming due deliveries, recording results.

Owns the claim: a replica takes due, unclaimed deliveries with `FOR UPDATE SKIP LOCKED`, so
two replicas never take the same row, and marks them `claimed_by` itself `claimed_until`
a lease on the server's clock from the claiming statement's start (one deadline for all it
claims; the replicas' clocks are never compared). A replica that
dies holding claims loses them when the lease runs out; another replica then takes them.
A live replica renews its claims every quarter lease (`renew`), so the lease can be short
(a dead replica's deliveries wait seconds, not the length of a slow send), and gives back
what it has not sent when it stops (`release`). It sends a claimed delivery only while its
own clock says the claim still holds (`may_send`, claimclock.py): a replica cut off from the
database stops before another can take its claims over.
A result is recorded only by the claim's holder (or on a row nobody claims), and only on a
delivery still owed (an operator's drop wins), except `sent`, which is recorded whoever
holds it and over a drop: the message went out, and a repeat must not follow.

Only ready deliveries are claimed (a `finished` one once its outcome is known). Held ones
are claimed as a recipient's whole digest, once it is due (`claim_digests`), and only when
no part of that recipient's digest is claimed by another replica. Replicas claim digests one
at a time (a transaction-scoped advisory lock, `DIGEST_LOCK`), so two claiming at the same
instant never split one recipient's held rows into two digests: the second sees the first's
claims, committed. Never touches tracked state.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import LiteralString

import psycopg
from psycopg_pool import AsyncConnectionPool

from notifier.store import rows
from notifier.store.postgres.claimclock import ClaimClock
from notifier.store.postgres.target import Connection, PostgresTarget, database_error
from notifier.store.protocol import Delivery

_CLAIM: LiteralString = (
    "WITH claimed AS (UPDATE deliveries SET claimed_by = %(holder)s,"
    " claimed_until = statement_timestamp() + %(lease)s"
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
_DIGEST_LOCK: LiteralString = "SELECT pg_advisory_xact_lock(%s, %s)"
_CLAIM_DIGESTS: LiteralString = (
    "WITH due AS (SELECT DISTINCT channel, recipient_key FROM deliveries AS d"
    " WHERE d.status = 'held' AND d.next_attempt_at <= %(now)s"
    " AND NOT EXISTS (SELECT 1 FROM deliveries AS x WHERE x.status = 'held'"
    " AND x.channel = d.channel AND x.recipient_key = d.recipient_key"
    " AND x.claimed_until > clock_timestamp())"
    " ORDER BY channel, recipient_key LIMIT %(limit)s),"
    " claimed AS (UPDATE deliveries AS d SET claimed_by = %(holder)s,"
    " claimed_until = statement_timestamp() + %(lease)s FROM due"
    " WHERE d.status = 'held' AND d.channel = due.channel AND d.recipient_key = due.recipient_key"
    " RETURNING d.id, d.event_id, d.channel, d.recipient, d.recipient_key, d.locale, d.status,"
    " d.attempts, d.created_at, d.next_attempt_at, d.last_error, d.receipt, d.pending_since,"
    " d.updated_at)"
    " SELECT c.id, e.event, c.channel, c.recipient, c.locale, c.status, c.attempts,"
    " c.created_at, c.next_attempt_at, c.last_error, c.receipt, e.completion, c.pending_since,"
    " c.updated_at FROM claimed AS c JOIN events AS e ON e.id = c.event_id"
    " ORDER BY c.channel, c.recipient_key, c.id"
)
_SENT: LiteralString = (
    "UPDATE deliveries SET status = 'sent', receipt = %s, attempts = attempts + 1,"
    " updated_at = %s, claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ANY(%s) AND status IN ('pending', 'held', 'dead')"
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
_RENEW: LiteralString = (
    "UPDATE deliveries SET claimed_until = statement_timestamp() + %s"
    " WHERE id = ANY(%s) AND claimed_by = %s AND claimed_until > clock_timestamp()"
    " AND status IN ('pending', 'held') RETURNING id"
)
_RELEASE: LiteralString = (
    "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL"
    " WHERE claimed_by = %s AND status IN ('pending', 'held')"
)
_MAX_ERROR_TEXT = 2000

DIGEST_LOCK = (0x4E6F7469, 2)
"""(classid, objid) of `pg_advisory_xact_lock`, held while a replica claims due digests."""


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
        self._clock = ClaimClock(lease)

    async def claim_due(self, now: datetime, limit: int) -> list[Delivery]:
        """Claim up to `limit` ready pending deliveries due at `now` that nobody holds,
        oldest due first; they are this replica's until a result is recorded or the lease
        runs out."""
        args = {"holder": self._holder, "lease": self._lease, "now": now, "limit": limit}
        sent_at = time.monotonic()
        claimed = [delivery_of(row) for row in await self._fetch(_CLAIM, args)]
        self._clock.claimed((d.id for d in claimed), sent_at)
        return claimed

    async def claim_digests(self, now: datetime, limit: int) -> list[Delivery]:
        """Claim all the held deliveries of up to `limit` recipients whose digest is due (any
        of its held rows is) and whose digest nobody else holds, grouped by recipient."""
        args = {"holder": self._holder, "lease": self._lease, "now": now, "limit": limit}
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(_DIGEST_LOCK, DIGEST_LOCK)
                sent_at = time.monotonic()
                cursor = await conn.execute(_CLAIM_DIGESTS, args)
                claimed = [delivery_of(row) for row in await cursor.fetchall()]
        except psycopg.Error as exc:
            raise database_error(self._target, exc) from None
        self._clock.claimed((d.id for d in claimed), sent_at)
        return claimed

    def may_send(self, delivery_ids: Sequence[int]) -> bool:
        """True while this replica's claims on all of these surely hold (by its own clock)."""
        return self._clock.may_send(delivery_ids, time.monotonic())

    @property
    def lease(self) -> float:
        return self._lease.total_seconds()

    async def renew(self) -> int:
        """Extend by a lease the claims this replica counts on and that have not run out;
        how many. A claim that ran out stays lost: another replica may have taken it."""
        self._clock.forget_expired(time.monotonic())
        held = self._clock.held()
        if not held:
            return 0  # nothing to renew: no statement (a renewal by id, never a scan)
        sent_at = time.monotonic()
        found = await self._fetch(_RENEW, (self._lease, held, self._holder))
        renewed = [int(str(ident)) for (ident,) in found]
        self._clock.renewed(renewed, sent_at)
        return len(renewed)

    async def release(self) -> int:
        """Give back every claim this replica holds (it stops): the others may send them at
        once. How many."""
        released = await self._update(_RELEASE, (self._holder,))
        self._clock = ClaimClock(self._lease.total_seconds())
        return released

    async def mark_sent(self, delivery_ids: Sequence[int], receipt: str, now: datetime) -> int:
        """Recorded whoever holds the claims; how many were still owed."""
        self._clock.done(delivery_ids)
        return await self._update(_SENT, (receipt, now, list(delivery_ids)))

    async def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime, now: datetime
    ) -> int:
        """Recorded for the deliveries this replica still holds; how many."""
        args = (_clip(error), next_attempt_at, now, list(delivery_ids), self._holder)
        self._clock.done(delivery_ids)
        return await self._update(_RETRY, args)

    async def mark_dead(self, delivery_ids: Sequence[int], error: str, now: datetime) -> int:
        """Recorded for the deliveries this replica still holds; how many."""
        args = (_clip(error), now, list(delivery_ids), self._holder)
        self._clock.done(delivery_ids)
        return await self._update(_DEAD, args)

    async def _fetch(
        self, query: LiteralString, args: dict[str, object] | tuple[object, ...]
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
    """One outbox row, its columns in the order of SQLite's (store/rows.py)."""
    return rows.delivery(row, instant=_timestamp)


def _timestamp(value: object) -> datetime:
    assert isinstance(value, datetime), value  # timestamptz columns, NOT NULL
    return value


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
