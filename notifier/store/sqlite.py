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
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from notifier.core.codec import CodecError, encode_event
from notifier.core.events import Completion, Event, EventKind
from notifier.core.state import TrackedState
from notifier.store import rows
from notifier.store.protocol import Delivery, DeliveryStatus, StoreError, StoreUnavailableError
from notifier.store.schema import migrate

log = logging.getLogger(__name__)

T = TypeVar("T")

DROPPED_BY_OPERATOR = "dropped by operator"
_MAX_ERROR_TEXT = 2000

# What the operator must hear for the SQLite errors that mean "cannot write now".
_UNAVAILABLE = {
    "SQLITE_FULL": "the disk (or the store's size limit) is full",
    "SQLITE_READONLY": "the file or its directory is read-only",
    "SQLITE_CANTOPEN": "the file cannot be opened",
    "SQLITE_PERM": "permission denied",
    "SQLITE_BUSY": "another process holds the write lock",
    "SQLITE_LOCKED": "the database is locked",
    "SQLITE_IOERR": "an I/O error occurred",
}


class SqliteStore:
    """The notifier's SQLite store. Create it with `await SqliteStore.open(path)`."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor) -> None:
        self._path = path
        self._executor = executor
        self._conn: sqlite3.Connection | None = None
        self._committed = TrackedState()
        self._closed = False
        self._marks: list[_Mark] = []
        self._flusher: asyncio.Task[None] | None = None

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

    # -- the Store protocol --------------------------------------------------------------

    async def load_state(self) -> TrackedState:
        return await self._run(lambda: self._committed)

    async def commit(self, state: TrackedState, events: Sequence[Event], now: datetime) -> None:
        await self._run(self._commit, state, list(events), rows.micros(now))

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        sql = "status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?"
        return await self._run(self._select, sql, (rows.micros(now), limit))

    async def awaiting_completion(self) -> list[Delivery]:
        sql = "status = 'pending' AND kind = ? AND completion IS NULL ORDER BY id"
        return await self._run(self._select, sql, (EventKind.FINISHED.value,))

    async def set_completions(self, completions: Mapping[int, Completion]) -> None:
        sql = "UPDATE deliveries SET completion = ? WHERE id = ?"
        args = [(rows.completion_text(c), delivery_id) for delivery_id, c in completions.items()]
        await self._run(self._update_each, sql, args)

    async def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> None:
        sql = (
            "UPDATE deliveries SET status = 'sent', message_id = ?, attempts = attempts + 1,"
            " updated_at = ? WHERE id = ?"
        )
        await self._mark(sql, (message_id, rows.micros(now), delivery_id))

    async def mark_retry(
        self, delivery_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        sql = (
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?,"
            " next_attempt_at = ?, updated_at = ? WHERE id = ?"
        )
        args = (_error(error), rows.micros(next_attempt_at), rows.micros(now), delivery_id)
        await self._mark(sql, args)

    async def mark_dead(self, delivery_id: int, error: str, now: datetime) -> None:
        sql = (
            "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = ?,"
            " updated_at = ? WHERE id = ?"
        )
        await self._mark(sql, (_error(error), rows.micros(now), delivery_id))

    async def mark_skipped(self, delivery_id: int, reason: str, now: datetime) -> None:
        sql = (
            "UPDATE deliveries SET status = 'skipped', last_error = ?, updated_at = ? WHERE id = ?"
        )
        await self._mark(sql, (_error(reason), rows.micros(now), delivery_id))

    async def reschedule_pending(self, now: datetime) -> int:
        at = rows.micros(now)
        sql = (
            "UPDATE deliveries SET next_attempt_at = ?, updated_at = ?"
            " WHERE status = 'pending' AND next_attempt_at > ?"
        )
        return await self._run(self._update, sql, (at, at, at))

    async def list_deliveries(
        self, statuses: Sequence[DeliveryStatus], limit: int = 1000
    ) -> list[Delivery]:
        wanted = [DeliveryStatus(s).value for s in statuses]
        marks = ", ".join("?" * len(wanted))
        sql = f"status IN ({marks}) ORDER BY id LIMIT ?"
        return await self._run(self._select, sql, (*wanted, limit))

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        at = rows.micros(now)
        sql = (
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
            " pending_since = ?, updated_at = ? WHERE id = ? AND status IN ('dead', 'skipped')"
        )
        return await self._run(self._update, sql, (at, at, at, delivery_id)) == 1

    async def drop(self, delivery_id: int, now: datetime) -> bool:
        sql = (
            "UPDATE deliveries SET status = 'dead', last_error = ?, updated_at = ?"
            " WHERE id = ? AND status = 'pending'"
        )
        args = (DROPPED_BY_OPERATOR, rows.micros(now), delivery_id)
        return await self._run(self._update, sql, args) == 1

    async def prune(self, before: datetime) -> int:
        """Forget sent and skipped deliveries last touched before `before`; returns how many.

        Not part of the Store protocol. Keep `before` far in the past (weeks): an event
        whose row is gone would be accepted again if the tracked state were ever rolled back.
        """
        sql = "DELETE FROM deliveries WHERE status IN ('sent', 'skipped') AND updated_at < ?"
        return await self._run(self._update, sql, (rows.micros(before),))

    async def counts(self) -> dict[DeliveryStatus, int]:
        return await self._run(self._counts)

    async def check_writable(self) -> None:
        await self._run(self._probe)

    async def close(self) -> None:
        if self._closed:
            return
        if self._flusher is not None:
            await asyncio.wait([self._flusher])  # marks already taken are written first
        try:
            await self._run(self._close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

    # -- group commit of the marks ---------------------------------------------------------

    async def _mark(self, sql: str, args: tuple[Any, ...]) -> None:
        """Update one delivery (its id last in `args`) and commit, together with the marks
        other tasks asked for meanwhile: with every commit synced to disk, one commit for a
        group keeps a burst of sends from queueing behind a sync each."""
        mark = _Mark(sql, args, asyncio.get_running_loop().create_future())
        self._marks.append(mark)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_marks(), name="store-marks")
        await mark.done

    async def _flush_marks(self) -> None:
        while self._marks:
            batch, self._marks = self._marks, []
            try:
                counts = await self._run(self._update_rows, [(m.sql, m.args) for m in batch])
            except Exception as exc:
                for mark in batch:
                    _settle(mark.done, exc)
                continue
            except BaseException:
                for mark in batch:
                    mark.done.cancel()
                raise
            for mark, count in zip(batch, counts, strict=True):
                if count == 1:
                    _settle(mark.done, None)
                else:
                    _settle(
                        mark.done, StoreError(f"store {self._path} has no delivery {mark.args[-1]}")
                    )

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
            raise _store_error(self._path, exc) from exc
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

    def _commit(self, state: TrackedState, events: list[Event], now: int) -> None:
        conn = self._connection()
        changes = rows.StateChanges.between(self._committed, state)
        outbox = [
            (e.id, e.kind.value, e.thread_id, encode_event(e), now, now, now, now) for e in events
        ]
        with _transaction(conn):
            changes.write(conn)
            conn.executemany(
                "INSERT OR IGNORE INTO deliveries (event_id, kind, run_id, event, status,"
                " created_at, pending_since, next_attempt_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                outbox,
            )
        self._committed = state

    def _select(self, where: str, args: tuple[Any, ...]) -> list[Delivery]:
        cursor = self._connection().execute(f"{rows.DELIVERY_SELECT} WHERE {where}", args)
        return [rows.delivery(row) for row in cursor]

    def _update(self, sql: str, args: tuple[Any, ...]) -> int:
        conn = self._connection()
        with _transaction(conn):
            return conn.execute(sql, args).rowcount

    def _update_rows(self, updates: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Each update's row count, all in one transaction."""
        conn = self._connection()
        with _transaction(conn):
            return [conn.execute(sql, args).rowcount for sql, args in updates]

    def _update_each(self, sql: str, many: list[tuple[Any, ...]]) -> None:
        """One transaction; every row must exist, or none is changed."""
        conn = self._connection()
        with _transaction(conn):
            for args in many:
                if conn.execute(sql, args).rowcount != 1:
                    raise StoreError(f"store {self._path} has no delivery {args[-1]}")

    def _counts(self) -> dict[DeliveryStatus, int]:
        found = dict.fromkeys(DeliveryStatus, 0)
        sql = "SELECT status, count(*) FROM deliveries GROUP BY status"
        for status, count in self._connection().execute(sql):
            found[DeliveryStatus(status)] = int(count)
        return found

    def _probe(self) -> None:
        at = rows.micros(datetime.now(UTC))
        self._update("INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)", (at,))

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (the commit's own included)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            try:
                self._conn.execute("COMMIT")
                return
            except BaseException:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


@dataclass(slots=True)
class _Mark:
    sql: str
    args: tuple[Any, ...]
    done: asyncio.Future[None]


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    """Resolve a mark's future, unless its caller stopped waiting (cancelled)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, meaning in _UNAVAILABLE.items():
        if name.startswith(prefix):
            return StoreUnavailableError(f"cannot write the store {path}: {meaning} ({exc})")
    return StoreError(f"store {path}: {exc}")


def _error(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
