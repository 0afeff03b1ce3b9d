"""One contract, every store: the `store` fixture opens the same tests on SQLite, PostgreSQL
(the private server of tests/postgres.py) and the in-memory store (tests/memory_store.py).

The in-memory store covers the poller's half only (`StateStore`): the delivery and operator
halves (`full_store`) run on SQLite and PostgreSQL, the two stores a daemon can open.

A `Harness` opens (and reopens) one store and reads what it holds behind the protocol's back
(the deliveries owed), so that a test sees what a restarted daemon would find.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import psycopg
import pytest

from notifier.core.events import Event
from notifier.core.state import TrackedState
from notifier.store.postgres.schema import migrate
from notifier.store.postgres.store import PostgresStore
from notifier.store.postgres.target import PostgresTarget, connect, open_pool
from notifier.store.postgres.tracked import TrackedStateStore
from notifier.store.protocol import DeliveryStatus, Store
from notifier.store.sqlite import SqliteStore
from tests import postgres
from tests.memory_store import MemoryRows, MemoryStore

Owed = tuple[str, str]


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"
    MEMORY = "memory"


class TrackedStore(Protocol):
    """The poller's half of the store, which every backend implements today."""

    async def load_state(self) -> TrackedState: ...

    async def commit(self, state: TrackedState, events: Sequence[Event], now: datetime) -> None: ...


@dataclass(slots=True)
class Harness:
    backend: Backend
    _open: Callable[[], Awaitable[tuple[TrackedStore, Callable[[], Awaitable[None]]]]]
    _owed: Callable[[], Awaitable[list[Owed]]]
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def open(self) -> TrackedStore:
        """Open the store (again): what a starting daemon sees."""
        store, close = await self._open()
        self._closers.append(close)
        return store

    async def owed(self) -> list[Owed]:
        """(event id, recipient) of every delivery in the outbox, in the order added."""
        return await self._owed()

    async def close(self) -> None:
        for close in reversed(self._closers):
            await close()


@pytest.fixture(params=list(Backend))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    backend = Backend(request.param)
    if backend is Backend.SQLITE:
        harness = _sqlite(tmp_path / "notifier.sqlite3")
    elif backend is Backend.POSTGRES:
        harness = await _postgres(request.getfixturevalue("postgres_db"))
    else:
        harness = _memory()
    try:
        yield harness
    finally:
        await harness.close()


def _sqlite(path: Path) -> Harness:
    async def open_() -> tuple[TrackedStore, Callable[[], Awaitable[None]]]:
        store = await SqliteStore.open(path)
        return store, store.close

    async def owed() -> list[Owed]:
        store = await SqliteStore.open(path)
        try:
            rows = await store.list_deliveries(list(DeliveryStatus), limit=1_000_000)
        finally:
            await store.close()
        return [(d.event.id, d.recipient.address) for d in sorted(rows, key=lambda d: d.id)]

    return Harness(Backend.SQLITE, open_, owed)


async def _postgres(database: postgres.Database) -> Harness:
    target = PostgresTarget(database.url, database.password)
    async with await connect(target, connect_within=5) as conn:
        await migrate(conn, target.describe())
        await conn.execute("UPDATE leadership SET term = 1")  # as if this replica led

    async def open_() -> tuple[TrackedStore, Callable[[], Awaitable[None]]]:
        pool = await open_pool(target, size=2, connect_within=5)
        return TrackedStateStore(pool, target, term=lambda: 1), pool.close

    async def owed() -> list[Owed]:
        async with await psycopg.AsyncConnection.connect(database.conninfo) as conn:
            cursor = await conn.execute("SELECT event_id, recipient FROM deliveries ORDER BY id")
            return [(str(e), str(r)) for e, r in await cursor.fetchall()]

    return Harness(Backend.POSTGRES, open_, owed)


def _memory() -> Harness:
    rows = MemoryRows()

    async def open_() -> tuple[TrackedStore, Callable[[], Awaitable[None]]]:
        store = MemoryStore(rows)
        return store, store.close

    async def owed() -> list[Owed]:
        return [(p.event_id, p.recipient.address) for p in rows.outbox.values()]

    return Harness(Backend.MEMORY, open_, owed)


@pytest.fixture(params=[Backend.SQLITE, Backend.POSTGRES])
async def full_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The whole protocol (poller, delivery, operator) on each store a daemon can open."""
    opened: Store
    if request.param is Backend.SQLITE:
        opened = await SqliteStore.open(tmp_path / "notifier.sqlite3")
    else:
        database: postgres.Database = request.getfixturevalue("postgres_db")
        target = PostgresTarget(database.url, database.password)
        async with await connect(target, connect_within=5) as conn:
            await migrate(conn, target.describe())
            await conn.execute("UPDATE leadership SET term = 1")  # as if this replica led
        pool = await open_pool(target, size=4, connect_within=5)
        opened = PostgresStore(pool, target, term=lambda: 1, claim_lease=60, holder="contract")
    try:
        yield opened
    finally:
        await opened.close()
