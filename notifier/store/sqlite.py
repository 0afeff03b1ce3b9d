"""SqliteStore: the Store protocol on one SQLite file, its one connection on its own thread.

Owns the file (created 0600, WAL, synchronous=FULL), the schema migrations at open, and
the mapping between rows and values. Every statement runs on one dedicated worker thread,
so the event loop never blocks and the connection is never shared between threads.

synchronous=FULL because a commit happens once per poll (seconds apart): the fsync is
cheap at that rate and makes a committed state survive a power cut, not only a crash.

The last committed tracked state is kept in memory; `commit` writes only the rows that
differ from it, then replaces it, once the transaction is durable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from notifier.core.codec import CodecError
from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, PlannedDelivery, Recipient
from notifier.core.state import TrackedState
from notifier.store import outbox, rows
from notifier.store.marks import MarkQueue
from notifier.store.protocol import (
    BurstHistory,
    Delivery,
    DeliveryQuery,
    DeliveryStatus,
    RecipientKey,
    StoreError,
    StoreUnavailableError,
)
from notifier.store.schema import fold, migrate
from notifier.store.transaction import Transaction, store_error

log = logging.getLogger(__name__)

_OWED = "'pending', 'held'"
"""The statuses a result may still change: an operator's drop (dead) wins over it."""

T = TypeVar("T")

DROPPED_BY_OPERATOR = "dropped by operator"
_MAX_ERROR_TEXT = 2000


class SqliteStore:
    """The notifier's SQLite store. Create it with `await SqliteStore.open(path)`."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor) -> None:
        self._path = path
        self._executor = executor
        self._conn: sqlite3.Connection | None = None
        self._committed = TrackedState()
        self._closed = False
        self._marks = MarkQueue(partial(self._run, self._update_rows))

    @classmethod
    async def open(cls, path: str | Path, *, max_pages: int | None = None) -> SqliteStore:
        """Open (creating if needed) and migrate the store; loads the tracked state.

        `max_pages` caps the file's size in pages (4 KiB each): a full store then fails
        the way a full disk does.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notifier-store")
        store = cls(Path(path), executor)
        try:
            await store._run(store._open, max_pages)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return store

    @property
    def path(self) -> Path:
        return self._path

    # -- the poller's: StateStore --------------------------------------------------------

    async def load_state(self) -> TrackedState:
        return await self._run(lambda: self._committed)

    async def commit(
        self,
        state: TrackedState,
        events: Sequence[Event],
        deliveries: Sequence[PlannedDelivery],
        now: datetime,
    ) -> None:
        await self._run(self._commit, state, list(events), list(deliveries), rows.micros(now))

    # -- the delivery loop's: DeliveryStore ------------------------------------------------

    async def awaiting_completion(self) -> list[Event]:
        return await self._run(lambda: outbox.awaiting(self._connection()))

    async def set_completions(self, completions: Mapping[str, Completion], now: datetime) -> None:
        await self._run(self._set_completions, dict(completions), rows.micros(now))

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        sql = (
            "d.status = 'pending' AND d.ready = 1 AND d.next_attempt_at <= ?"
            " ORDER BY d.next_attempt_at, d.id LIMIT ?"
        )
        return await self._run(self._select, sql, (rows.micros(now), limit))

    async def due_digests(self, now: datetime, limit: int) -> list[Delivery]:
        # `limit` counts recipients, never rows: a digest is all of its recipient's held rows.
        sql = (
            "d.status = 'held' AND (d.channel, d.recipient_key) IN (SELECT DISTINCT channel,"
            " recipient_key FROM deliveries WHERE status = 'held' AND next_attempt_at <= ?"
            " ORDER BY channel, recipient_key LIMIT ?) ORDER BY d.channel, d.recipient_key, d.id"
        )
        return await self._run(self._select, sql, (rows.micros(now), limit))

    def may_send(self, delivery_ids: Sequence[int]) -> bool:
        return True  # one process owns the file: nobody else sends its deliveries

    async def burst_history(
        self, recipients: Sequence[Recipient], since: datetime
    ) -> dict[RecipientKey, BurstHistory]:
        keys = list(dict.fromkeys(r.key for r in recipients))
        return await self._run(
            lambda: outbox.burst_history(self._connection(), keys, rows.micros(since))
        )

    async def sent_singly(self, recipient: Recipient, since: datetime) -> list[Delivery]:
        # A digest's deliveries share its receipt; a single message's receipt is its own.
        sql = (
            "d.channel = ? AND d.recipient_key = ? AND d.status = 'sent' AND d.updated_at >= ?"
            " AND d.receipt IN (SELECT receipt FROM deliveries WHERE channel = ?"
            " AND recipient_key = ? AND status = 'sent' AND updated_at >= ?"
            " GROUP BY receipt HAVING count(*) = 1) ORDER BY d.updated_at, d.id"
        )
        channel, key = recipient.key
        args = (channel.value, key, rows.micros(since)) * 2
        return await self._run(self._select, sql, args)

    async def hold(self, delivery_ids: Sequence[int], until: datetime, now: datetime) -> None:
        sql = "UPDATE deliveries SET status = 'held', next_attempt_at = ?, updated_at = ?"
        args = (rows.micros(until), rows.micros(now))
        await self._mark(sql, args, delivery_ids, "'pending'", "held")

    async def mark_sent(self, delivery_ids: Sequence[int], receipt: str, now: datetime) -> None:
        sql = (
            "UPDATE deliveries SET status = 'sent', receipt = ?, attempts = attempts + 1,"
            " updated_at = ?"
        )
        # Recorded even over an operator's drop made while it was on the wire: it went out.
        args = (receipt, rows.micros(now))
        await self._mark(sql, args, delivery_ids, "'pending', 'held', 'dead'", "sent")

    async def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        sql = (
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?,"
            " next_attempt_at = ?, updated_at = ?"
        )
        args = (_error(error), rows.micros(next_attempt_at), rows.micros(now))
        await self._mark(sql, args, delivery_ids, _OWED, "to retry")

    async def mark_dead(self, delivery_ids: Sequence[int], error: str, now: datetime) -> None:
        sql = (
            "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = ?,"
            " updated_at = ?"
        )
        await self._mark(sql, (_error(error), rows.micros(now)), delivery_ids, _OWED, "dead")

    async def mark_skipped(self, delivery_id: int, reason: str, now: datetime) -> None:
        sql = "UPDATE deliveries SET status = 'skipped', last_error = ?, updated_at = ?"
        args = (_error(reason), rows.micros(now))
        await self._mark(sql, args, [delivery_id], _OWED, "skipped")

    async def reschedule_pending(
        self, now: datetime, channel: ChannelKind, recipient: str | None = None
    ) -> int:
        at = rows.micros(now)
        sql = (
            "UPDATE deliveries SET next_attempt_at = ?, updated_at = ?"
            " WHERE status = 'pending' AND next_attempt_at > ? AND channel = ?"
        )
        args: tuple[Any, ...] = (at, at, at, channel.value)
        if recipient is not None:
            sql += " AND recipient_key = ?"
            args = (*args, fold(recipient))
        return await self._run(self._update, sql, args)

    # -- the operator's: OperatorStore -----------------------------------------------------

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]:
        wanted = [DeliveryStatus(s).value for s in statuses]
        marks = ", ".join("?" * len(wanted))
        sql = f"d.status IN ({marks}) ORDER BY d.id LIMIT ?"
        return await self._run(self._select, sql, (*wanted, limit))

    async def find_deliveries(self, query: DeliveryQuery, limit: int = 1000) -> list[Delivery]:
        where, args = outbox.query_where(query)
        newest = await self._run(
            self._select, f"{where} ORDER BY d.id DESC LIMIT ?", (*args, limit)
        )
        return newest[::-1]

    async def delivery(self, delivery_id: int) -> Delivery | None:
        found = await self._run(self._select, "d.id = ?", (delivery_id,))
        return found[0] if found else None

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        at = rows.micros(now)
        sql = (
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
            " pending_since = ?, updated_at = ?, ready = (SELECT CASE WHEN e.kind = 'finished'"
            " AND e.completion IS NULL THEN 0 ELSE 1 END FROM events AS e"
            " WHERE e.id = deliveries.event_id)"
            " WHERE id = ? AND status IN ('dead', 'skipped')"
        )
        return await self._run(self._update, sql, (at, at, at, delivery_id)) == 1

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        at = rows.micros(now)
        owed = (
            "UPDATE deliveries SET status = 'dead', last_error = ?, updated_at = ?"
            " WHERE id = ? AND status IN ('pending', 'held')"
        )
        dead = (
            "UPDATE deliveries SET status = 'skipped', updated_at = ?, last_error = ?"
            " || coalesce('; was dead: ' || last_error, '') WHERE id = ? AND status = 'dead'"
        )
        changed = await self._run(
            self._update_rows,
            # A dead one first: an owed one dropped becomes dead, and stays so.
            [
                (dead, (at, DROPPED_BY_OPERATOR, delivery_id)),
                (owed, (DROPPED_BY_OPERATOR, at, delivery_id)),
            ],
        )
        return sum(changed) == 1

    async def prune(self, before: datetime) -> int:
        """Keep `before` far in the past (weeks): an event whose rows are gone would be
        accepted again if the tracked state were ever rolled back."""
        return await self._run(self._prune, rows.micros(before))

    async def counts(self) -> dict[tuple[ChannelKind, DeliveryStatus], int]:
        return await self._run(self._counts)

    async def oldest_owed(self) -> dict[ChannelKind, datetime]:
        return await self._run(self._oldest_owed)

    async def check_writable(self) -> None:
        await self._run(self._probe)

    async def close(self) -> None:
        if self._closed:
            return
        await self._marks.drain()  # marks already taken are written first
        try:
            await self._run(self._close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

    async def _mark(
        self, sql: str, args: tuple[Any, ...], ids: Sequence[int], status: str, what: str
    ) -> None:
        """Update the deliveries among `ids` in `status` (the SQL list of statuses), committed
        with the marks of others. An id not in the store is an error; one in another status
        (an operator dropped it meanwhile) is left as it is, and logged."""
        wanted = list(dict.fromkeys(ids))
        where = f" WHERE id IN ({', '.join('?' * len(wanted))}) AND status IN ({status})"
        changed = await self._marks.mark(sql + where, (*args, *wanted))
        if changed < len(wanted):
            await self._check_marked(wanted, what)

    async def _check_marked(self, ids: list[int], what: str) -> None:
        known = await self._run(self._known, ids)
        missing = [str(i) for i in ids if i not in known]
        if missing:
            raise StoreError(f"store {self._path} has no delivery {', '.join(missing)}")
        log.warning(
            "deliveries %s not marked %s: no longer owed (an operator dropped them meanwhile)",
            ", ".join(str(i) for i in ids), what,
        )  # fmt: skip

    # -- on the worker thread ------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreError(f"store {self._path} is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._translated, fn, *args))

    def _translated(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise store_error(self._path, exc) from exc
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StoreUnavailableError(f"cannot open the store {self._path}: {reason}") from exc
        except CodecError as exc:
            raise StoreError(f"store {self._path} holds a damaged row: {exc}") from exc

    def _open(self, max_pages: int | None) -> None:
        if not self._path.exists():
            # Created here, not by SQLite, so that it is private from its first byte;
            # SQLite gives its -wal and -shm files the mode of the database file.
            os.close(os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("store %s: WAL is not available here, using %s", self._path, mode)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA busy_timeout = 5000")
            if max_pages is not None:
                conn.execute(f"PRAGMA max_page_count = {int(max_pages)}")
            migrate(conn, str(self._path))
            self._committed = rows.load_state(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {self._path} is not open")
        return self._conn

    def _commit(
        self,
        state: TrackedState,
        events: list[Event],
        planned: list[PlannedDelivery],
        now: int,
    ) -> None:
        conn = self._connection()
        changes = rows.StateChanges.between(self._committed, state)
        with Transaction(conn):
            changes.write(conn)
            outbox.write(conn, events, planned, now)
        self._committed = state

    def _set_completions(self, completions: dict[str, Completion], now: int) -> None:
        conn = self._connection()
        with Transaction(conn):
            missing = outbox.set_completions(conn, completions, now)
            if missing:  # raised inside: none of them is recorded
                raise StoreError(f"store {self._path} has no event {missing}")

    def _prune(self, before: int) -> int:
        conn = self._connection()
        with Transaction(conn):
            return outbox.prune(conn, before)

    def _select(self, where: str, args: tuple[Any, ...]) -> list[Delivery]:
        cursor = self._connection().execute(f"{rows.DELIVERY_SELECT} WHERE {where}", args)
        return [rows.delivery(row) for row in cursor]

    def _known(self, ids: list[int]) -> set[int]:
        sql = "SELECT id FROM deliveries WHERE id IN (SELECT value FROM json_each(?))"
        return {int(ident) for (ident,) in self._connection().execute(sql, (json.dumps(ids),))}

    def _update(self, sql: str, args: tuple[Any, ...]) -> int:
        conn = self._connection()
        with Transaction(conn):
            return conn.execute(sql, args).rowcount

    def _update_rows(self, updates: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Each update's row count, all in one transaction."""
        conn = self._connection()
        with Transaction(conn):
            return [conn.execute(sql, args).rowcount for sql, args in updates]

    def _counts(self) -> dict[tuple[ChannelKind, DeliveryStatus], int]:
        found = {(c, s): 0 for c in ChannelKind for s in DeliveryStatus}
        sql = "SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status"
        for channel, status, count in self._connection().execute(sql):
            found[(ChannelKind(channel), DeliveryStatus(status))] = int(count)
        return found

    def _oldest_owed(self) -> dict[ChannelKind, datetime]:
        sql = (
            "SELECT channel, min(pending_since) FROM deliveries"
            " WHERE status IN ('pending', 'held') GROUP BY channel"
        )
        return {
            ChannelKind(channel): rows.from_micros(int(at))
            for channel, at in self._connection().execute(sql)
        }

    def _probe(self) -> None:
        at = rows.micros(datetime.now(UTC))
        self._update("INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)", (at,))

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _error(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
