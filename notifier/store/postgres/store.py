"""PostgresStore: the whole Store protocol on a PostgreSQL database shared by replicas.

Owns the pool and the delivery and operator statements; the poller's half is tracked.py's
(committed under the leadership term) and the claims are claims.py's. Mirrors the SQLite
store's semantics (sqlite.py, outbox.py) statement for statement, with two differences that
replicas need: due deliveries and due digests are *claimed* (a replica sends only what it
holds, for `claim_lease` seconds), and a result a replica may no longer record (its claim
was taken over, or the row was sent by its twin) is logged and left as the database has it.

Never decides who leads (leadership.py) and never puts the password in a message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import LiteralString

import psycopg
from psycopg_pool import AsyncConnectionPool

from notifier.core.codec import CodecError, decode_event
from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, PlannedDelivery, Recipient, skip_reason, wanted
from notifier.core.state import TrackedState
from notifier.store.postgres.claims import DeliveryClaims, delivery_of
from notifier.store.postgres.leadership import default_holder
from notifier.store.postgres.target import (
    Connection,
    PostgresError,
    PostgresTarget,
    database_error,
)
from notifier.store.postgres.tracked import TrackedStateStore
from notifier.store.protocol import (
    BurstHistory,
    Delivery,
    DeliveryQuery,
    DeliveryStatus,
    RecipientKey,
)
from notifier.store.rows import completion_text, outcomes_of
from notifier.store.schema import fold

log = logging.getLogger(__name__)

DROPPED_BY_OPERATOR = "dropped by operator"
_MAX_ERROR_TEXT = 2000

_SELECT: LiteralString = (  # as store/rows.py's DELIVERY_SELECT
    "SELECT d.id, e.event, d.channel, d.recipient, d.locale, d.status, d.attempts,"
    " d.created_at, d.next_attempt_at, d.last_error, d.receipt, e.completion, d.pending_since,"
    " d.updated_at FROM deliveries AS d JOIN events AS e ON e.id = d.event_id"
)
_AWAITING: LiteralString = (
    "SELECT event FROM events WHERE completion IS NULL AND id IN (SELECT event_id"
    " FROM deliveries WHERE status = 'pending' AND NOT ready) ORDER BY created_at, id"
)
_HOLD: LiteralString = (
    "UPDATE deliveries SET status = 'held', next_attempt_at = %s, updated_at = %s,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = ANY(%s) AND status = 'pending'"
)
_SKIPPED: LiteralString = (
    "UPDATE deliveries SET status = 'skipped', last_error = %s, updated_at = %s,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = ANY(%s)"
)
_RESCHEDULE: LiteralString = (
    "UPDATE deliveries SET next_attempt_at = %s, updated_at = %s"
    " WHERE status = 'pending' AND next_attempt_at > %s AND channel = %s"
)
_RETRY: LiteralString = (
    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = %s,"
    " pending_since = %s, updated_at = %s, claimed_by = NULL, claimed_until = NULL,"
    " ready = (SELECT NOT (e.kind ="
    " 'finished' AND e.completion IS NULL) FROM events AS e WHERE e.id = deliveries.event_id)"
    " WHERE id = %s AND status IN ('dead', 'skipped')"
)
_DROP: LiteralString = (
    "UPDATE deliveries SET status = 'dead', last_error = %s, updated_at = %s,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = %s AND status IN ('pending', 'held')"
)
_DROP_DEAD: LiteralString = (
    "UPDATE deliveries SET status = 'skipped', updated_at = %s, last_error = %s"
    " || coalesce('; was dead: ' || last_error, '') WHERE id = %s AND status = 'dead'"
)
_PRUNE: LiteralString = (
    "DELETE FROM deliveries WHERE status IN ('sent', 'skipped', 'dead') AND updated_at < %s"
)
_PRUNE_EVENTS: LiteralString = (
    "DELETE FROM events WHERE created_at < %s AND NOT EXISTS"
    " (SELECT 1 FROM deliveries AS d WHERE d.event_id = events.id)"
)
_SENDS: LiteralString = (
    "SELECT max(updated_at) FROM deliveries WHERE channel = %s AND recipient_key = %s"
    " AND status = 'sent' AND updated_at >= %s GROUP BY receipt ORDER BY 1"
)
_HELD_UNTIL: LiteralString = (
    "SELECT min(next_attempt_at) FROM deliveries WHERE channel = %s AND recipient_key = %s"
    " AND status = 'held'"
)
_SINGLE_RECEIPTS: LiteralString = (  # a digest's deliveries share its receipt
    "SELECT receipt FROM deliveries WHERE channel = %(channel)s AND recipient_key = %(key)s"
    " AND status = 'sent' AND updated_at >= %(since)s GROUP BY receipt HAVING count(*) = 1"
)
_SENT_SINGLY: LiteralString = (
    _SELECT + " WHERE d.channel = %(channel)s AND d.recipient_key = %(key)s"
    " AND d.status = 'sent' AND d.updated_at >= %(since)s AND d.receipt IN ("
    + _SINGLE_RECEIPTS + ") ORDER BY d.updated_at, d.id"
)  # fmt: skip
_OLDEST_OWED: LiteralString = (
    "SELECT channel, min(pending_since) FROM deliveries"
    " WHERE status IN ('pending', 'held') GROUP BY channel"
)
_PROBE: LiteralString = (
    "INSERT INTO write_probe (id, at) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET at = %s"
)


class PostgresStore:
    """The notifier's PostgreSQL store, over an open pool.

    `term` is the leadership term this replica commits under (None: it does not lead, and
    `commit` is refused); `holder` names the replica in its claims; `claim_lease` is how
    long a claimed delivery stays this replica's (longer than the slowest send).
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Connection],
        target: PostgresTarget,
        *,
        term: Callable[[], int | None],
        claim_lease: float,
        holder: str | None = None,
    ) -> None:
        self._pool = pool
        self._target = target
        self._tracked = TrackedStateStore(pool, target, term)
        self._claims = DeliveryClaims(pool, target, holder or default_holder(), claim_lease)
        self._closed = False

    @property
    def target(self) -> PostgresTarget:
        return self._target

    # -- the poller's: StateStore --------------------------------------------------------

    async def load_state(self) -> TrackedState:
        return await self._tracked.load_state()

    async def commit(
        self,
        state: TrackedState,
        events: Sequence[Event],
        deliveries: Sequence[PlannedDelivery],
        now: datetime,
    ) -> None:
        await self._tracked.commit(state, events, deliveries, now)

    # -- the delivery loop's: DeliveryStore ------------------------------------------------

    async def awaiting_completion(self) -> list[Event]:
        async with self._connection() as conn:
            cursor = await conn.execute(_AWAITING)
            found = await cursor.fetchall()
        return [decode_event(str(text)) for (text,) in found]

    async def set_completions(self, completions: Mapping[str, Completion], now: datetime) -> None:
        async with self._connection() as conn, conn.transaction():
            for event_id, completion in completions.items():
                cursor = await conn.execute(
                    "UPDATE events SET completion = %s WHERE id = %s",
                    (completion_text(completion), event_id),
                )
                if cursor.rowcount != 1:  # raised inside: none of them is recorded
                    raise PostgresError(f"store {self._target.describe()} has no event {event_id}")
                await _make_ready(conn, event_id, completion, now)

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        """Claimed for this replica: another one never gets the same rows meanwhile."""
        return await self._claims.claim_due(now, limit)

    async def due_digests(self, now: datetime, limit: int) -> list[Delivery]:
        """Claimed for this replica, a recipient's whole digest at a time."""
        return await self._claims.claim_digests(now, limit)

    async def burst_history(
        self, recipients: Sequence[Recipient], since: datetime
    ) -> dict[RecipientKey, BurstHistory]:
        keys = list(dict.fromkeys(r.key for r in recipients))
        found: dict[RecipientKey, BurstHistory] = {}
        async with self._connection() as conn:
            for channel, key in keys:
                cursor = await conn.execute(_SENDS, (channel.value, key, since))
                sends = tuple(_instant(at) for (at,) in await cursor.fetchall())
                cursor = await conn.execute(_HELD_UNTIL, (channel.value, key))
                row = await cursor.fetchone()
                held = None if row is None or row[0] is None else _instant(row[0])
                found[(channel, key)] = BurstHistory(sends=sends, held_until=held)
        return found

    async def sent_singly(self, recipient: Recipient, since: datetime) -> list[Delivery]:
        channel, key = recipient.key
        return await self._select(
            _SENT_SINGLY, {"channel": channel.value, "key": key, "since": since}
        )

    async def hold(self, delivery_ids: Sequence[int], until: datetime, now: datetime) -> None:
        await self._marked(_HOLD, (until, now, list(delivery_ids)), delivery_ids)

    async def mark_sent(self, delivery_ids: Sequence[int], receipt: str, now: datetime) -> None:
        done = await self._claims.mark_sent(delivery_ids, receipt, now)
        await self._check_marked(delivery_ids, done, "sent")

    async def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        done = await self._claims.mark_retry(delivery_ids, error, next_attempt_at, now)
        await self._check_marked(delivery_ids, done, "to retry")

    async def mark_dead(self, delivery_ids: Sequence[int], error: str, now: datetime) -> None:
        done = await self._claims.mark_dead(delivery_ids, error, now)
        await self._check_marked(delivery_ids, done, "dead")

    async def mark_skipped(self, delivery_id: int, reason: str, now: datetime) -> None:
        await self._marked(_SKIPPED, (_clip(reason), now, [delivery_id]), [delivery_id])

    async def reschedule_pending(
        self, now: datetime, channel: ChannelKind, recipient: str | None = None
    ) -> int:
        if recipient is None:
            return await self._update(_RESCHEDULE, (now, now, now, channel.value))
        query: LiteralString = _RESCHEDULE + " AND recipient_key = %s"
        return await self._update(query, (now, now, now, channel.value, fold(recipient)))

    async def check_writable(self) -> None:
        at = datetime.now(UTC)
        await self._update(_PROBE, (at, at))

    # -- the operator's: OperatorStore -----------------------------------------------------

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]:
        wanted_statuses = [DeliveryStatus(s).value for s in statuses]
        query: LiteralString = _SELECT + " WHERE d.status = ANY(%s) ORDER BY d.id LIMIT %s"
        return await self._select(query, (wanted_statuses, limit))

    async def find_deliveries(self, query: DeliveryQuery, limit: int = 1000) -> list[Delivery]:
        where, args = query_where(query)
        newest = await self._select(
            _SELECT + " WHERE " + where + " ORDER BY d.id DESC LIMIT %s", (*args, limit)
        )
        return newest[::-1]

    async def delivery(self, delivery_id: int) -> Delivery | None:
        found = await self._select(_SELECT + " WHERE d.id = %s", (delivery_id,))
        return found[0] if found else None

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        return await self._update(_RETRY, (now, now, now, delivery_id)) == 1

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        async with self._connection() as conn, conn.transaction():
            # A dead one first: an owed one dropped becomes dead, and stays so.
            dead = await conn.execute(_DROP_DEAD, (now, DROPPED_BY_OPERATOR, delivery_id))
            changed = max(dead.rowcount, 0)
            owed = await conn.execute(_DROP, (DROPPED_BY_OPERATOR, now, delivery_id))
            changed += max(owed.rowcount, 0)
        return changed == 1

    async def prune(self, before: datetime) -> int:
        """Keep `before` far in the past (weeks), as with SQLite."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(_PRUNE, (before,))
            removed = max(cursor.rowcount, 0)
            await conn.execute(_PRUNE_EVENTS, (before,))
        return removed

    async def counts(self) -> dict[tuple[ChannelKind, DeliveryStatus], int]:
        found = {(c, s): 0 for c in ChannelKind for s in DeliveryStatus}
        async with self._connection() as conn:
            cursor = await conn.execute(
                "SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status"
            )
            for channel, status, count in await cursor.fetchall():
                found[(ChannelKind(str(channel)), DeliveryStatus(str(status)))] = int(str(count))
        return found

    async def oldest_owed(self) -> dict[ChannelKind, datetime]:
        async with self._connection() as conn:
            cursor = await conn.execute(_OLDEST_OWED)
            found = await cursor.fetchall()
        return {ChannelKind(str(channel)): _instant(at) for channel, at in found}

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._pool.close()

    # -- statements ----------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        if self._closed:
            raise PostgresError(f"store {self._target.describe()} is closed")
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise database_error(self._target, exc) from None

    async def _select(
        self, query: LiteralString, args: tuple[object, ...] | dict[str, object]
    ) -> list[Delivery]:
        async with self._connection() as conn:
            cursor = await conn.execute(query, args)
            found = await cursor.fetchall()
        try:
            return [delivery_of(row) for row in found]
        except CodecError as exc:
            raise PostgresError(
                f"store {self._target.describe()} holds a damaged row: {exc}"
            ) from None

    async def _update(self, query: LiteralString, args: tuple[object, ...]) -> int:
        async with self._connection() as conn:
            cursor = await conn.execute(query, args)
            return max(cursor.rowcount, 0)

    async def _marked(
        self, query: LiteralString, args: tuple[object, ...], ids: Sequence[int]
    ) -> None:
        """An UPDATE of these deliveries, each of which must exist (as with SQLite)."""
        await self._check_marked(ids, await self._update(query, args), "marked")

    async def _check_marked(self, ids: Sequence[int], done: int, what: str) -> None:
        """Fewer rows changed than asked: an unknown id is an error; a known one was taken
        over by another replica (its claim ran out) or already sent by it, and stays so."""
        if done >= len(ids):
            return
        async with self._connection() as conn:
            cursor = await conn.execute(
                "SELECT id FROM deliveries WHERE id = ANY(%s)", (list(ids),)
            )
            known = {int(str(ident)) for (ident,) in await cursor.fetchall()}
        missing = [i for i in ids if i not in known]
        if missing:
            listed = ", ".join(str(i) for i in missing)
            raise PostgresError(f"store {self._target.describe()} has no delivery {listed}")
        log.warning(
            "deliveries %s not recorded %s: another replica holds or has sent them",
            ", ".join(str(i) for i in ids), what,
        )  # fmt: skip


async def _make_ready(conn: Connection, event_id: str, done: Completion, now: datetime) -> None:
    """The event's deliveries ready; those not wanted for the outcome skipped, with the
    reason `notifier.core.routing.skip_reason` gives (as outbox.py's)."""
    cursor = await conn.execute("SELECT event FROM events WHERE id = %s", (event_id,))
    (text,) = await cursor.fetchone() or ("",)
    event = decode_event(str(text))
    cursor = await conn.execute(
        "SELECT id, channel, recipient, outcomes FROM deliveries WHERE event_id = %s AND NOT ready",
        (event_id,),
    )
    for ident, channel, address, outcomes in await cursor.fetchall():
        if wanted(outcomes_of(str(outcomes)), done.outcome):
            await conn.execute("UPDATE deliveries SET ready = true WHERE id = %s", (ident,))
            continue
        to = Recipient(ChannelKind(str(channel)), str(address))
        await conn.execute(
            "UPDATE deliveries SET ready = true, status = 'skipped', last_error = %s,"
            " updated_at = %s WHERE id = %s AND status = 'pending'",
            (skip_reason(event, to, done.outcome), now, ident),
        )


def query_where(query: DeliveryQuery) -> tuple[LiteralString, tuple[object, ...]]:
    """The WHERE clause (over `d`, the deliveries, and `e`, their events) and its arguments,
    as outbox.py's `query_where`."""
    clauses: list[LiteralString] = ["d.status = ANY(%s)"]
    args: list[object] = [[status.value for status in query.statuses]]
    if query.recipient is not None:
        clauses.append("d.channel = %s AND d.recipient_key = %s")
        args += [query.recipient.channel.value, fold(query.recipient.address)]
    if query.job is not None:
        clauses.append(
            "(e.event::jsonb #>> '{job,job_handle}' = %s OR e.event::jsonb #>> '{job,name}' = %s)"
        )
        args += [query.job, query.job]
    if query.since is not None:
        clauses.append("d.created_at >= %s")
        args.append(query.since)
    return " AND ".join(clauses), tuple(args)


def _instant(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise PostgresError(f"expected a time from the database, got {value!r}")
    return value.astimezone(UTC)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
