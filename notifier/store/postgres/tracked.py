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
from dataclasses import dataclass
from datetime import datetime
from typing import LiteralString

import psycopg
from psycopg_pool import AsyncConnectionPool

from notifier.core.codec import decode_tracked_job, encode_event
from notifier.core.events import Event, EventKind
from notifier.core.routing import PlannedDelivery
from notifier.core.state import TrackedState
from notifier.store.postgres.leadership import NotLeaderError, check_term
from notifier.store.postgres.target import Connection, PostgresTarget, database_error
from notifier.store.protocol import DeliveryStatus
from notifier.store.rows import StateChanges, outcomes_text
from notifier.store.schema import fold

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
_INSERT_EVENT: LiteralString = (
    "INSERT INTO events (id, kind, run_id, event, created_at)"
    " SELECT e.id, e.kind, e.run_id, e.event, %s"
    " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) AS e (id, kind, run_id, event)"
    " ON CONFLICT (id) DO NOTHING"
)
_INSERT_DELIVERY: LiteralString = (
    "INSERT INTO deliveries (event_id, channel, recipient, recipient_key, locale, outcomes,"
    " ready, status, last_error, created_at, pending_since, next_attempt_at, updated_at)"
    " SELECT d.event_id, d.channel, d.recipient, d.recipient_key, d.locale, d.outcomes,"
    " d.ready, d.status, d.last_error, %s, %s, %s, %s"
    " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::boolean[], %b::text[], %b::text[]) WITH ORDINALITY"
    " AS d (event_id, channel, recipient, recipient_key, locale, outcomes, ready, status,"
    " last_error, n) ORDER BY d.n"
    " ON CONFLICT (event_id, channel, recipient_key) DO NOTHING"
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

    async def commit(
        self,
        state: TrackedState,
        events: Sequence[Event],
        deliveries: Sequence[PlannedDelivery],
        now: datetime,
    ) -> None:
        """Write the new state, the events and the deliveries they imply in ONE transaction,
        if this replica's term is still the one the state was loaded under; else
        NotLeaderError, and nothing is written. An event already stored is not added again,
        nor a delivery already there for the same (event, channel, recipient)."""
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
        changes, outbox = await asyncio.to_thread(_prepare, committed, state, events, deliveries)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await check_term(conn, term)
                await _write(conn, changes, outbox, now)
        except psycopg.Error as exc:
            self._committed = None  # unknown whether it committed: read it back next time
            raise database_error(self._target, exc) from None
        self._committed = state

    async def _read(self) -> TrackedState:
        try:
            async with self._pool.connection() as conn:
                rows = await _rows(conn)
        except psycopg.Error as exc:
            raise database_error(self._target, exc) from None
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


@dataclass(frozen=True, slots=True)
class _Outbox:
    events: _Rows
    deliveries: _Rows


def _prepare(
    committed: TrackedState,
    state: TrackedState,
    events: Sequence[Event],
    planned: Sequence[PlannedDelivery],
) -> tuple[StateChanges, _Outbox]:
    event_rows: _Rows = [(e.id, e.kind.value, e.thread_id, encode_event(e)) for e in events]
    waiting = {e.id for e in events if e.kind is EventKind.FINISHED}
    rows = [_planned_row(p, ready=p.event_id not in waiting) for p in planned]
    return StateChanges.between(committed, state), _Outbox(event_rows, rows)


def _planned_row(planned: PlannedDelivery, ready: bool) -> tuple[object, ...]:
    """As the SQLite store records one (store/outbox.py): skipped with its reason, or
    pending; a `finished` one is ready once its outcome is known."""
    to = planned.recipient
    status = DeliveryStatus.SKIPPED if planned.skip else DeliveryStatus.PENDING
    return (
        planned.event_id, to.channel.value, to.address, fold(to.address), to.locale,
        outcomes_text(planned.outcomes), ready or bool(planned.skip), status.value,
        planned.skip or None,
    )  # fmt: skip


async def _write(conn: Connection, changes: StateChanges, outbox: _Outbox, now: datetime) -> None:
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
        if outbox.events:
            await cursor.execute(_INSERT_EVENT, (now, *_columns(outbox.events)))
        if outbox.deliveries:  # in the plan's order, so that ids follow it
            params = (now, now, now, now, *_columns(outbox.deliveries))
            await cursor.execute(_INSERT_DELIVERY, params)


def _columns(rows: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """Rows to columns, one array parameter each (binary: no escaping of the JSON)."""
    return [list(column) for column in zip(*rows, strict=True)]
