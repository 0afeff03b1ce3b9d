"""The poller's half of the PostgreSQL store: tracked state and the outbox rows it implies.

Owns loading the tracked state and committing the next one with its new deliveries, in ONE
transaction, under the leadership term: a commit whose term is over is refused by the
database (`check_term`), so a former leader never overwrites its successor's state.

Only rows that changed since the last commit are written. That rests on the cached state
being what the database holds, which the term makes true: the state is loaded after the
term began, and only this replica commits under it. A state loaded under another term is
refused; after a commit of unknown outcome the rows are read back in the next commit's
transaction.
Never decides who leads (leadership.py) and never claims deliveries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import LiteralString

import psycopg
from psycopg_pool import AsyncConnectionPool

from notifier.core.codec import decode_tracked_job, encode_event
from notifier.core.events import Event
from notifier.core.state import TrackedState
from notifier.store.postgres.leadership import NotLeaderError, check_term
from notifier.store.postgres.target import Connection, PostgresError, PostgresTarget, first_line
from notifier.store.rows import StateChanges

# One statement per table, whatever the number of rows: each column travels as one array.
_UPSERT_JOB: LiteralString = (
    "INSERT INTO tracked_jobs (company_handle, job_handle, tracked)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[])"
    " ON CONFLICT (company_handle, job_handle) DO UPDATE SET tracked = excluded.tracked"
)
_DELETE_JOB: LiteralString = (
    "DELETE FROM tracked_jobs WHERE (company_handle, job_handle) IN"
    " (SELECT * FROM unnest(%b::text[], %b::text[]))"
)
_UPSERT_RUN: LiteralString = (
    "INSERT INTO job_runs (company_handle, job_handle, last_run)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::integer[])"
    " ON CONFLICT (company_handle, job_handle) DO UPDATE SET last_run = excluded.last_run"
)
_DELETE_RUN: LiteralString = (
    "DELETE FROM job_runs WHERE (company_handle, job_handle) IN"
    " (SELECT * FROM unnest(%b::text[], %b::text[]))"
)
_UPSERT_SCOPE: LiteralString = (
    "INSERT INTO scopes (scope, polled_at) SELECT * FROM unnest(%b::text[], %b::text[])"
    " ON CONFLICT (scope) DO UPDATE SET polled_at = excluded.polled_at"
)
_DELETE_SCOPE: LiteralString = "DELETE FROM scopes WHERE scope = ANY(%b::text[])"
_INSERT_DELIVERY: LiteralString = (
    "INSERT INTO deliveries (event_id, kind, run_id, event, status, created_at,"
    " pending_since, next_attempt_at, updated_at)"
    " SELECT e.id, e.kind, e.run_id, e.event, 'pending', %s, %s, %s, %s"
    " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[])"
    " WITH ORDINALITY AS e (id, kind, run_id, event, n) ORDER BY e.n"
    " ON CONFLICT (event_id) DO NOTHING"
)


class TrackedStateStore:
    """Tracked state on a shared database, written by the leader only.

    `term` says the leadership term this replica commits under (`Leadership.term`), or None
    when it does not lead: then `commit` refuses at once.
    """

    def __init__(
        self, pool: AsyncConnectionPool[Connection], target: PostgresTarget,
        term: Callable[[], int | None],
    ) -> None:  # fmt: skip
        self._pool = pool
        self._target = target
        self._term = term
        self._committed: TrackedState | None = None
        self._base_term: int | None = None

    async def load_state(self) -> TrackedState:
        """The tracked state as last committed by any leader (empty on a new store).

        Call it after each `wait_until_leader()`: `commit` takes only states derived from
        one loaded under the same term."""
        term = self._term()
        state = await self._read()
        self._committed, self._base_term = state, term
        return state

    async def commit(self, state: TrackedState, events: Sequence[Event], now: datetime) -> None:
        """Write the new state and one pending delivery per new event in ONE transaction,
        if this replica's term is still the one the state was loaded under; else
        NotLeaderError, and nothing is written."""
        term = self._term()
        if term is None:
            raise NotLeaderError("this replica does not lead: its state is not committed")
        if term != self._base_term:
            raise NotLeaderError(
                f"the tracked state was loaded under term {self._base_term}, this is term "
                f"{term}: load it again before committing"
            )
        # Under this term only this replica writes: the rows read back are the base.
        committed = self._committed if self._committed is not None else await self._read()
        # Encoding 10,000 jobs takes a while: off the event loop, as SQLite's work is.
        changes, outbox = await asyncio.to_thread(_prepare, committed, state, events)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await check_term(conn, term)
                await _write(conn, changes, outbox, now)
        except psycopg.Error as exc:
            self._committed = None  # unknown whether it committed: read it back next time
            raise PostgresError(f"{self._target.describe()}: {first_line(exc)}") from None
        self._committed = state

    async def _read(self) -> TrackedState:
        try:
            async with self._pool.connection() as conn:
                rows = await _rows(conn)
        except psycopg.Error as exc:
            raise PostgresError(f"{self._target.describe()}: {first_line(exc)}") from None
        return await asyncio.to_thread(_decode, *rows)


_Rows = list[tuple[object, ...]]


async def _rows(conn: Connection) -> tuple[_Rows, _Rows, _Rows]:
    async with conn.cursor() as cursor:
        await cursor.execute("SELECT company_handle, job_handle, tracked FROM tracked_jobs")
        jobs = await cursor.fetchall()
        await cursor.execute("SELECT company_handle, job_handle, last_run FROM job_runs")
        runs = await cursor.fetchall()
        await cursor.execute("SELECT scope, polled_at FROM scopes")
        scopes = await cursor.fetchall()
    return jobs, runs, scopes


def _decode(jobs: _Rows, runs: _Rows, scopes: _Rows) -> TrackedState:
    return TrackedState(
        jobs={(str(c), str(h)): decode_tracked_job(str(t)) for c, h, t in jobs},
        last_run={(str(c), str(h)): int(str(r)) for c, h, r in runs},
        scopes={str(s): datetime.fromisoformat(str(at)) for s, at in scopes},
    )


def _prepare(
    committed: TrackedState, state: TrackedState, events: Sequence[Event]
) -> tuple[StateChanges, _Rows]:
    outbox: _Rows = [(e.id, e.kind.value, e.thread_id, encode_event(e)) for e in events]
    return StateChanges.between(committed, state), outbox


async def _write(conn: Connection, changes: StateChanges, outbox: _Rows, now: datetime) -> None:
    async with conn.cursor() as cursor:
        for query, rows in (
            (_UPSERT_JOB, changes.upserted_jobs),
            (_DELETE_JOB, changes.deleted_jobs),
            (_UPSERT_RUN, changes.runs),
            (_DELETE_RUN, changes.deleted_runs),
            (_UPSERT_SCOPE, changes.scopes),
            (_DELETE_SCOPE, changes.deleted_scopes),
        ):
            if rows:
                await cursor.execute(query, _columns(rows))
        if outbox:  # in the events' order, so that ids follow it
            params = (now, now, now, now, *_columns(outbox))
            await cursor.execute(_INSERT_DELIVERY, params)


def _columns(rows: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """Rows to columns, one array parameter each (binary: no escaping of the JSON)."""
    return [list(column) for column in zip(*rows, strict=True)]
