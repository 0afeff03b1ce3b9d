"""One contract, every store: the same tests run on SQLite, PostgreSQL (the private server of
tests/postgres.py) and the in-memory store (tests/memory_store.py), each implementing the
whole protocol (poller, delivery loop, operator).

A `Harness` (the `store` fixture) opens (and reopens) one store and reads what it holds
behind the protocol's back (the deliveries owed), so that a test sees what a restarted
daemon would find; `full_store` is that store, opened once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import psycopg
import pytest

from notifier.store.postgres.schema import migrate
from notifier.store.postgres.store import PostgresStore
from notifier.store.postgres.target import PostgresTarget, connect, open_pool
from notifier.store.protocol import DeliveryStatus, Store
from notifier.store.sqlite import SqliteStore
from tests import postgres
from tests.memory_rows import MemoryRows
from tests.memory_store import MemoryStore

Owed = tuple[str, str]


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"
    MEMORY = "memory"


@dataclass(slots=True)
class Harness:
    backend: Backend
    _open: Callable[[], Awaitable[Store]]
    _owed: Callable[[], Awaitable[list[Owed]]]
    _opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        """Open the store (again): what a starting daemon sees."""
        opened = await self._open()
        self._opened.append(opened)
        return opened

    async def owed(self) -> list[Owed]:
        """(event id, recipient) of every delivery in the outbox, in the order added."""
        return await self._owed()

    async def close(self) -> None:
        for opened in reversed(self._opened):
            await opened.close()


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
    async def open_() -> Store:
        return await SqliteStore.open(path)

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

    async def open_() -> Store:
        pool = await open_pool(target, size=4, connect_within=5)
        return PostgresStore(pool, target, term=lambda: 1, claim_lease=60, holder="contract")

    async def owed() -> list[Owed]:
        async with await psycopg.AsyncConnection.connect(database.conninfo) as conn:
            cursor = await conn.execute("SELECT event_id, recipient FROM deliveries ORDER BY id")
            return [(str(e), str(r)) for e, r in await cursor.fetchall()]

    return Harness(Backend.POSTGRES, open_, owed)


def _memory() -> Harness:
    rows = MemoryRows()

    async def open_() -> Store:
        return MemoryStore(rows)

    async def owed() -> list[Owed]:
        return [(d.event_id, d.recipient.address) for d in rows.deliveries.values()]

    return Harness(Backend.MEMORY, open_, owed)


@pytest.fixture
async def full_store(store: Harness) -> Store:
    """The whole protocol (poller, delivery loop, operator) on each store, opened once."""
    return await store.open()
