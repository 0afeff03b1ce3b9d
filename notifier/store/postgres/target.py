"""Where the PostgreSQL store is, and how a connection to it is opened.

Owns the connection parameters: the URL (never with a password: that is given apart), the
server-side session settings that bound how long a silent client keeps its session, and
the description of the target used in messages. Never puts the password in a message, a
repr or a log line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from notifier.store.protocol import StoreError, StoreUnavailableError

APPLICATION_NAME = "ips-job-notifier"

Connection = psycopg.AsyncConnection[TupleRow]


class PostgresError(StoreError):
    """The PostgreSQL store cannot be reached or used; the message names the target."""


class PostgresUnavailableError(PostgresError, StoreUnavailableError):
    """The server cannot be reached or refuses writes now (down, restarting, read-only):
    work stops until it is back, as with a full disk under SQLite."""


def database_error(target: PostgresTarget, exc: psycopg.Error) -> PostgresError:
    """What a driver error means for the caller, naming the target (never the password)."""
    text = f"{target.describe()}: {first_line(exc)}"
    if isinstance(exc, psycopg.OperationalError | psycopg.errors.ReadOnlySqlTransaction):
        return PostgresUnavailableError(text)
    return PostgresError(text)


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """A database: `url` as in `store.url` (no password in it) and the password apart."""

    url: str
    password: str = field(default="", repr=False)

    def describe(self) -> str:
        """`user@host:port/database` for messages: never the password."""
        try:
            parts = conninfo_to_dict(self.url)
        except psycopg.ProgrammingError:
            return "(a PostgreSQL URL that does not parse)"
        user = f"{parts['user']}@" if parts.get("user") else ""
        host = parts.get("host") or "localhost"
        port = f":{parts['port']}" if parts.get("port") else ""
        return f"postgresql://{user}{host}{port}/{parts.get('dbname', '')}"


def session_options(settings: Mapping[str, float]) -> str:
    """libpq's `options`: `-c name=value` for each server setting, times in whole ms."""
    return " ".join(f"-c {name}={math.ceil(ms)}" for name, ms in settings.items())


def conninfo(
    target: PostgresTarget, *, connect_within: float, settings: Mapping[str, float] | None = None
) -> str:
    """libpq's connection string for `target`. `settings`: server session settings in
    milliseconds (statement_timeout, idle_session_timeout ...)."""
    extra: dict[str, str | int] = {
        "connect_timeout": max(1, math.ceil(connect_within)),
        "application_name": APPLICATION_NAME,
        # The client's own watch on a dead peer, beside the server's (see leadership.py).
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(connect_within)),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": math.ceil(connect_within * 1000),
    }
    if target.password:
        extra["password"] = target.password
    if settings:
        extra["options"] = session_options(settings)
    try:
        return make_conninfo(target.url, **extra)
    except psycopg.ProgrammingError as exc:
        raise PostgresError(f"{target.describe()}: {first_line(exc)}") from None


async def connect(
    target: PostgresTarget,
    *,
    connect_within: float,
    settings: Mapping[str, float] | None = None,
) -> Connection:
    """An autocommit connection. Raises PostgresError naming the target."""
    info = conninfo(target, connect_within=connect_within, settings=settings)
    try:
        return await psycopg.AsyncConnection.connect(info, autocommit=True)
    except psycopg.Error as exc:
        raise PostgresError(f"cannot connect to {target.describe()}: {first_line(exc)}") from None


async def open_pool(
    target: PostgresTarget,
    *,
    size: int,
    connect_within: float,
    settings: Mapping[str, float] | None = None,
) -> AsyncConnectionPool[Connection]:
    """A pool of up to `size` autocommit connections, checked before each use and replaced
    when broken; open once one connection works. Raises PostgresError naming the target."""
    pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
        conninfo(target, connect_within=connect_within, settings=settings),
        connection_class=psycopg.AsyncConnection[TupleRow],
        kwargs={"autocommit": True},
        min_size=1,
        max_size=size,
        open=False,
        check=AsyncConnectionPool.check_connection,
        timeout=connect_within,
        name="notifier-store",
    )
    try:
        await pool.open(wait=True, timeout=connect_within)
    except PoolTimeout:
        await pool.close()
        probe = await connect(target, connect_within=connect_within, settings=settings)
        await probe.close()  # it worked this time: only the wait was too short
        raise PostgresError(
            f"cannot connect to {target.describe()} within {connect_within:g} s"
        ) from None
    return pool


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
