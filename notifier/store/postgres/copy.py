"""`notifier store copy`: a SQLite store's rows into a PostgreSQL store, checked.

Owns the move from one machine to replicas: tracked jobs, run numbers, scopes, events and
every delivery (pending, held, dead and the history that digests count), with their ids, so
that `notifier outbox retry ID` still names the same delivery. The source is read in one
read transaction (a consistent snapshot, even of a running daemon's file); the target is
written in one transaction that first empties it, so a re-run leaves the same result.

Never writes into a database a replica has led on (its leadership term is above 0): that
state is newer than the file's, and replacing it would lose deliveries.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import LiteralString

import psycopg
from psycopg.sql import SQL, Identifier

from notifier.store import rows
from notifier.store.postgres.schema import migrate
from notifier.store.postgres.target import (
    Connection,
    PostgresError,
    PostgresTarget,
    connect,
    first_line,
)
from notifier.store.sqlite import SqliteStore

_Rows = list[tuple[object, ...]]

# (table, the source's SELECT, the columns written); times are converted from micros.
_TABLES: tuple[tuple[str, LiteralString, LiteralString], ...] = (
    ("tracked_jobs", "SELECT company_handle, job_handle, tracked FROM tracked_jobs",
     "company_handle, job_handle, tracked"),
    ("job_runs", "SELECT company_handle, job_handle, last_run FROM job_runs",
     "company_handle, job_handle, last_run"),
    ("scopes", "SELECT scope, polled_at FROM scopes", "scope, polled_at"),
    ("events", "SELECT id, kind, run_id, event, completion, created_at FROM events ORDER BY id",
     "id, kind, run_id, event, completion, created_at"),
    ("deliveries",
     "SELECT id, event_id, channel, recipient, recipient_key, locale, outcomes, ready, status,"
     " attempts, created_at, pending_since, next_attempt_at, updated_at, last_error, receipt"
     " FROM deliveries ORDER BY id",
     "id, event_id, channel, recipient, recipient_key, locale, outcomes, ready, status,"
     " attempts, created_at, pending_since, next_attempt_at, updated_at, last_error, receipt"),
)  # fmt: skip
_MICROS = {"events": (5,), "deliveries": (10, 11, 12, 13)}
_BOOLEANS = {"deliveries": (7,)}


class CopyError(PostgresError):
    """The copy cannot be made, or did not check out; the target is left as it was."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Rows copied, by table, as counted in the target after the copy."""

    source: Path
    target: str
    counts: dict[str, int]

    def summary(self) -> str:
        parts = ", ".join(f"{n} {table}" for table, n in self.counts.items())
        return f"copied {self.source} to {self.target}: {parts}; checked"


async def copy_to_postgres(source: Path, target: PostgresTarget) -> CopyReport:
    if not await asyncio.to_thread(source.is_file):
        raise CopyError(f"no SQLite store at {source}: give it with --from or store.path")
    await (await SqliteStore.open(source)).close()  # at the latest schema version
    tables = await asyncio.to_thread(_read, source)
    try:
        async with await connect(target, connect_within=30) as conn:
            await migrate(conn, target.describe())
            async with conn.transaction():
                await _refuse_a_used_target(conn, target)
                await _replace(conn, tables)
                counts = await _check(conn, tables, target)
    except psycopg.Error as exc:
        raise CopyError(f"{target.describe()}: {first_line(exc)}; nothing copied") from None
    return CopyReport(source, target.describe(), counts)


def _read(source: Path) -> dict[str, _Rows]:
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")  # one snapshot for every table
        found = {
            table: _converted(table, conn.execute(sql).fetchall()) for table, sql, _ in _TABLES
        }
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise CopyError(f"cannot read the store {source}: {exc}") from None
    finally:
        conn.close()
    return found


def _converted(table: str, raw: list[tuple[object, ...]]) -> _Rows:
    times, flags = _MICROS.get(table, ()), _BOOLEANS.get(table, ())
    out: _Rows = []
    for row in raw:
        values = list(row)
        for i in times:
            values[i] = rows.from_micros(int(str(values[i])))
        for i in flags:
            values[i] = bool(values[i])
        out.append(tuple(values))
    return out


async def _refuse_a_used_target(conn: Connection, target: PostgresTarget) -> None:
    cursor = await conn.execute("SELECT term FROM leadership WHERE id = 1 FOR UPDATE")
    row = await cursor.fetchone()
    term = int(str(row[0])) if row else 0
    if term > 0:
        raise CopyError(
            f"{target.describe()} has been used by notifier run (leadership term {term}): "
            "its state is newer than the file's; copy into a new database"
        )


async def _replace(conn: Connection, tables: dict[str, _Rows]) -> None:
    await conn.execute("TRUNCATE deliveries, events, tracked_jobs, job_runs, scopes")
    async with conn.cursor() as cursor:
        for table, _, columns in _TABLES:
            name, staged, listed = Identifier(table), Identifier(f"copy_{table}"), SQL(columns)
            await cursor.execute(
                SQL("CREATE TEMPORARY TABLE {} (LIKE {}) ON COMMIT DROP").format(staged, name)
            )
            into = SQL("COPY {} ({}) FROM STDIN").format(staged, listed)
            async with cursor.copy(into) as copy:
                for row in tables[table]:
                    await copy.write_row(row)
            override = SQL(" OVERRIDING SYSTEM VALUE" if table == "deliveries" else "")
            await cursor.execute(
                SQL("INSERT INTO {} ({}){} SELECT {} FROM {}").format(
                    name, listed, override, listed, staged
                )
            )
        await cursor.execute(
            "SELECT setval(pg_get_serial_sequence('deliveries', 'id'),"
            " coalesce(max(id), 0) + 1, false) FROM deliveries"
        )


async def _check(
    conn: Connection,
    tables: dict[str, _Rows],
    target: PostgresTarget,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, _, _ in _TABLES:
        cursor = await conn.execute(SQL("SELECT count(*) FROM {}").format(Identifier(table)))
        row = await cursor.fetchone()
        counts[table] = int(str(row[0])) if row else 0
        if counts[table] != len(tables[table]):
            raise CopyError(
                f"{target.describe()}: {table} holds {counts[table]} rows after the copy, "
                f"the source {len(tables[table])}; nothing copied"
            )
    return counts
