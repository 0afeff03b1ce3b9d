"""PostgresStore: the whole Store protocol on a PostgreSQL database shared by replicas.

Owns the pool and runs the delivery and operator statements (their texts are outbox.py's);
the poller's half is tracked.py's (committed under the leadership term) and the claims are
claims.py's. Mirrors the SQLite store's semantics (sqlite.py, outbox.py) statement for
statement, with two differences that replicas need: due deliveries and due digests are
*claimed* (a replica sends only what it holds, for `claim_lease` seconds, renewed while it
runs: `keep_claims`), and a result a replica may no longer record (its claim was taken
over, or the row was sent by its twin) is logged and left as the database has it.

Never decides who leads (leadership.py) and never puts the password in a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import LiteralString

import psycopg
from psycopg_pool import AsyncConnectionPool

from notifier.core.codec import CodecError, decode_event
from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, PlannedDelivery, Recipient
from notifier.core.state import TrackedState
from notifier.store.postgres import outbox
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
from notifier.store.schema import fold

log = logging.getLogger(__name__)

DROPPED_BY_OPERATOR = "dropped by operator"
_MAX_ERROR_TEXT = 2000


class PostgresStore:
    """The notifier's PostgreSQL store, over an open pool.

    `term` is the leadership term this replica commits under (None: it does not lead, and
    `commit` is refused); `holder` names the replica in its claims; `claim_lease` is how
    long a claimed delivery stays this replica's unless renewed (`keep_claims`).
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

    async def keep_claims(self) -> None:
        """Renew this replica's claims every quarter lease, until cancelled: a send however
        slow keeps its claim, and a dead replica's claims run out within one lease. A renewal
        that fails (the database away) is tried again at the next quarter."""
        while True:
            await asyncio.sleep(self._claims.lease / 4)
            try:
                await self._claims.renew()
            except PostgresError as exc:
                log.debug("claims not renewed: %s", exc)

    async def release_claims(self) -> None:
        """Give back the claims of deliveries not sent, as the daemon stops: another replica
        sends them at once instead of after the lease. A failure is logged: they run out."""
        try:
            released = await self._claims.release()
        except PostgresError as exc:
            log.warning("claimed deliveries not given back (%s): another replica sends them "
                        "once their claims run out", exc)  # fmt: skip
        else:
            if released:
                log.info("gave back %d claimed deliveries to the other replicas", released)

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
            cursor = await conn.execute(outbox.AWAITING)
            found = await cursor.fetchall()
        return [decode_event(str(text)) for (text,) in found]

    async def set_completions(self, completions: Mapping[str, Completion], now: datetime) -> None:
        if not completions:
            return
        async with self._connection() as conn, conn.transaction():
            missing = await outbox.set_completions(conn, completions, now)
            if missing:  # raised inside: none of them is recorded
                listed = ", ".join(missing)
                raise PostgresError(f"store {self._target.describe()} has no event {listed}")

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        """Claimed for this replica: another one never gets the same rows meanwhile."""
        return await self._claims.claim_due(now, limit)

    async def due_digests(self, now: datetime, limit: int) -> list[Delivery]:
        """Claimed for this replica, a recipient's whole digest at a time."""
        return await self._claims.claim_digests(now, limit)

    def may_send(self, delivery_ids: Sequence[int]) -> bool:
        """While this replica's claims on them surely hold, by its own clock."""
        return self._claims.may_send(delivery_ids)

    async def burst_history(
        self, recipients: Sequence[Recipient], since: datetime
    ) -> dict[RecipientKey, BurstHistory]:
        keys = list(dict.fromkeys(r.key for r in recipients))
        found: dict[RecipientKey, BurstHistory] = {}
        async with self._connection() as conn:
            for channel, key in keys:
                cursor = await conn.execute(outbox.SENDS, (channel.value, key, since))
                sends = tuple(_instant(at) for (at,) in await cursor.fetchall())
                cursor = await conn.execute(outbox.HELD_UNTIL, (channel.value, key))
                row = await cursor.fetchone()
                held = None if row is None or row[0] is None else _instant(row[0])
                found[(channel, key)] = BurstHistory(sends=sends, held_until=held)
        return found

    async def sent_singly(self, recipient: Recipient, since: datetime) -> list[Delivery]:
        channel, key = recipient.key
        return await self._select(
            outbox.SENT_SINGLY, {"channel": channel.value, "key": key, "since": since}
        )

    async def hold(self, delivery_ids: Sequence[int], until: datetime, now: datetime) -> None:
        await self._marked(outbox.HOLD, (until, now, list(delivery_ids)), delivery_ids)

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
        await self._marked(outbox.SKIPPED, (_clip(reason), now, [delivery_id]), [delivery_id])

    async def reschedule_pending(
        self, now: datetime, channel: ChannelKind, recipient: str | None = None
    ) -> int:
        if recipient is None:
            return await self._update(outbox.RESCHEDULE, (now, now, now, channel.value))
        query: LiteralString = outbox.RESCHEDULE + " AND recipient_key = %s"
        return await self._update(query, (now, now, now, channel.value, fold(recipient)))

    async def check_writable(self) -> None:
        at = datetime.now(UTC)
        await self._update(outbox.PROBE, (at, at))

    # -- the operator's: OperatorStore -----------------------------------------------------

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]:
        wanted_statuses = [DeliveryStatus(s).value for s in statuses]
        query: LiteralString = outbox.SELECT + " WHERE d.status = ANY(%s) ORDER BY d.id LIMIT %s"
        return await self._select(query, (wanted_statuses, limit))

    async def find_deliveries(self, query: DeliveryQuery, limit: int = 1000) -> list[Delivery]:
        where, args = outbox.query_where(query)
        newest = await self._select(
            outbox.SELECT + " WHERE " + where + " ORDER BY d.id DESC LIMIT %s", (*args, limit)
        )
        return newest[::-1]

    async def delivery(self, delivery_id: int) -> Delivery | None:
        found = await self._select(outbox.SELECT + " WHERE d.id = %s", (delivery_id,))
        return found[0] if found else None

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        return await self._update(outbox.RETRY, (now, now, now, delivery_id)) == 1

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        async with self._connection() as conn, conn.transaction():
            # A dead one first: an owed one dropped becomes dead, and stays so.
            dead = await conn.execute(outbox.DROP_DEAD, (now, DROPPED_BY_OPERATOR, delivery_id))
            changed = max(dead.rowcount, 0)
            owed = await conn.execute(outbox.DROP, (DROPPED_BY_OPERATOR, now, delivery_id))
            changed += max(owed.rowcount, 0)
        return changed == 1

    async def prune(self, before: datetime) -> int:
        """Keep `before` far in the past (weeks), as with SQLite."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(outbox.PRUNE, (before,))
            removed = max(cursor.rowcount, 0)
            await conn.execute(outbox.PRUNE_EVENTS, (before,))
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
            cursor = await conn.execute(outbox.OLDEST_OWED)
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
            "deliveries %s not marked %s: no longer this replica's (another replica took them "
            "over or sent them, or an operator dropped them meanwhile)",
            ", ".join(str(i) for i in ids), what,
        )  # fmt: skip


def _instant(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise PostgresError(f"expected a time from the database, got {value!r}")
    return value.astimezone(UTC)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
