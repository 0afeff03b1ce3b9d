"""Opening the configured store: the one place that decides which store a command gets,
whether it may create one, and whether it holds the store's lock.

Every command opens its store here, by what it needs (`Access`):
- `DAEMON` (`run`, `once`): creates the store when missing and holds its lock for as long as
  it is open, so a second daemon on the same file stops at once, naming the holder.
- `OPERATOR` (`outbox retry`, `drop`): the store must exist; changes deliveries beside a
  running daemon, as SQLite allows, without taking its lock.
- `READ` (`outbox list`, `once --dry-run`, `check-config`): the store must exist; nothing in
  it is changed by the command.
A store that must exist and does not is an error naming the path looked at and where the
service keeps its own, never a new empty file. Nor does a command beside the daemon migrate
the store's schema under it (after an upgrade, before the restart): only the daemon does.
Each open is logged with the path and the access, so every command says which store it
opened.

`open_configured` picks the store from the configuration: `store.url` "" is the SQLite file
at `store.path` (as `open_store`); a postgresql:// URL is the shared PostgreSQL store, whose
schema only the daemon migrates, and for `DAEMON` the contention for leadership
(`Leadership`): the daemon polls only while its replica leads. With SQLite the one process
always leads (`SoleReplica`).

Never decides where the configured path points: the configuration resolves `store.path`
(relative to $STATE_DIRECTORY, else the current directory) before it gets here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from psycopg_pool import AsyncConnectionPool

from notifier.store.lock import StoreLock
from notifier.store.postgres.leadership import Leadership, Lease, Role
from notifier.store.postgres.schema import MIGRATIONS as MIGRATIONS_PG
from notifier.store.postgres.schema import current_version, migrate
from notifier.store.postgres.store import PostgresStore
from notifier.store.postgres.target import Connection, PostgresTarget, connect, open_pool
from notifier.store.protocol import Store, StoreError
from notifier.store.schema import MIGRATIONS
from notifier.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

SERVICE_STATE_DIRECTORY = Path("/var/lib/notifier")

CONNECT_WITHIN = 10.0
"""Seconds a PostgreSQL connection (or a free one of the pool) is waited for."""

POOL_SIZE = 8
"""Connections of one replica's pool: sends record their results concurrently."""
"""Where the shipped unit (StateDirectory=notifier) keeps the service's store."""


class Access(StrEnum):
    DAEMON = "daemon"
    OPERATOR = "operator"
    READ = "read"


class StoreMissingError(StoreError):
    """A command that needs an existing store found none at the configured path."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no store at {path}: this command works on an existing store and does not create "
            f"one. The service keeps its store under its state directory ($STATE_DIRECTORY; "
            f"{SERVICE_STATE_DIRECTORY} with the shipped unit): set store.path to that file "
            f'(e.g. store.path = "{SERVICE_STATE_DIRECTORY / "notifier.sqlite3"}"), or run '
            f"`notifier run` or `notifier once` once to create a new store here"
        )
        self.path = path


class StoreSchemaError(StoreError):
    """The store is not at this notifier's schema, and only the daemon may migrate it."""


def require_existing(path: Path) -> None:
    """Raise StoreMissingError unless a store file is at `path`."""
    if not path.is_file():
        raise StoreMissingError(path)


def require_usable(path: Path) -> None:
    """Raise unless `path` is a store at this notifier's schema version (blocking: a thread)."""
    require_existing(path)
    version = _schema_version(path)
    latest = len(MIGRATIONS)
    if version == 0:
        raise StoreSchemaError(f"{path} is not a notifier store (no notifier has opened it)")
    if version < latest:
        raise StoreSchemaError(
            f"store {path} has schema version {version}, older than this notifier's ({latest}): "
            "the daemon migrates it when it starts with this version. Restart the service "
            "first (systemctl restart notifier), then run this command again"
        )
    # A newer schema is refused when the store is opened, naming both versions.


def _schema_version(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreSchemaError(f"{path} is not a notifier store: {exc}") from None


@asynccontextmanager
async def open_store(
    path: Path, access: Access, *, max_pages: int | None = None
) -> AsyncIterator[SqliteStore]:
    """The store at `path`, open for `access`; closed (and unlocked) on the way out."""
    lock: StoreLock | None = None
    if access is Access.DAEMON:
        lock = StoreLock.acquire(path)
    else:
        await asyncio.to_thread(require_usable, path)
    try:
        store = await SqliteStore.open(path, max_pages=max_pages)
        log.info("store %s open (%s)", path, access.value)
        try:
            yield store
        finally:
            await store.close()
    finally:
        if lock is not None:
            lock.release()


class Leading(Protocol):
    """Whether this replica polls: `Leadership` on PostgreSQL, `SoleReplica` on SQLite."""

    @property
    def is_leader(self) -> bool: ...

    @property
    def role(self) -> Role: ...

    @property
    def gauge(self) -> int: ...

    async def wait_until_leader(self) -> int: ...

    async def wait_until_lost(self) -> None: ...


class SoleReplica:
    """The one process on a SQLite file: it always leads (the file lock makes it the only
    one), and its term never ends."""

    is_leader = True
    role = Role.LEADER
    gauge = 1

    async def wait_until_leader(self) -> int:
        return 0

    async def wait_until_lost(self) -> None:
        await asyncio.get_running_loop().create_future()  # never: cancelled at the stop


@dataclass(frozen=True, slots=True)
class OpenedStore:
    """A store open for a command, and whether this replica polls."""

    store: Store
    leading: Leading
    where: str
    """The path or the database (`user@host:port/db`, never the password), for messages."""


class NotContending:
    """A command beside the daemons (`outbox`, `check-config`): it never polls."""

    is_leader = False
    role = Role.STANDBY
    gauge = 0

    async def wait_until_leader(self) -> int:
        never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        return await never

    async def wait_until_lost(self) -> None:
        return None


@asynccontextmanager
async def open_configured(
    access: Access,
    *,
    path: Path,
    url: str = "",
    password: str = "",
    leader_lease: float = 10.0,
) -> AsyncIterator[OpenedStore]:
    """The configured store (`store.url`, else the file at `store.path`) open for `access`;
    closed (and unlocked, or left to the next leader) on the way out. On PostgreSQL the
    daemon's claims on deliveries last `leader_lease` too, renewed while it runs: a dead
    replica's deliveries go to the others as soon as its leadership would."""
    if not url:
        async with open_store(path, access) as sqlite:
            yield OpenedStore(sqlite, SoleReplica(), str(path))
        return
    target = PostgresTarget(url, password)
    leadership = Leadership(target, lease=Lease(leader_lease))
    daemon = access is Access.DAEMON
    pool = await _postgres_pool(target, access, leadership.lease)
    store = PostgresStore(
        pool, target, term=(lambda: leadership.term) if daemon else (lambda: None),
        claim_lease=leader_lease,
    )  # fmt: skip
    try:
        if daemon:
            async with leadership, _claims_kept(store):
                log.info("store %s open (%s)", target.describe(), access.value)
                yield OpenedStore(store, leadership, target.describe())
        else:
            log.info("store %s open (%s)", target.describe(), access.value)
            yield OpenedStore(store, NotContending(), target.describe())
    finally:
        await store.close()


@asynccontextmanager
async def _claims_kept(store: PostgresStore) -> AsyncIterator[None]:
    """The daemon's claims renewed while it runs, and those it did not send given back as
    it stops."""
    keeper = asyncio.create_task(store.keep_claims(), name="claim renewal")
    try:
        yield
    finally:
        keeper.cancel()
        with suppress(asyncio.CancelledError):
            await keeper
        await store.release_claims()


async def _postgres_pool(
    target: PostgresTarget, access: Access, lease: Lease
) -> AsyncConnectionPool[Connection]:
    """The pool, once the schema is this notifier's: the daemon migrates it; a command
    beside the daemons refuses an older one (only the daemon migrates)."""
    async with await connect(target, connect_within=CONNECT_WITHIN) as conn:
        if access is Access.DAEMON:
            await migrate(conn, target.describe())
        else:
            version = await current_version(conn)
            if version < len(MIGRATIONS_PG):
                raise StoreSchemaError(
                    f"store {target.describe()} has schema version {version}, older than "
                    f"this notifier's ({len(MIGRATIONS_PG)}): the daemon migrates it when it "
                    "starts with this version. Start `notifier run` first, then run this "
                    "command again"
                )
    settings = lease.pool_settings() if access is Access.DAEMON else None
    return await open_pool(target, size=POOL_SIZE, connect_within=CONNECT_WITHIN, settings=settings)
