"""Which replica polls: a PostgreSQL advisory lock held on a connection of its own, with a lease.

Owns the leadership connection, the lock, the lease and the role they imply. Never polls and
never commits state: the daemon polls while `is_leader`, stops when `on_change(False)` (or
`wait_until_lost()`) says so, and commits its state under `term` (`check_term`), so that a
former leader's late commit is refused by the database itself.

The bound, with L = `Lease.seconds` (10 s unless configured):
- The leader confirms its lock (granted to its own backend, in pg_locks) every L/4, each
  confirm answered within L/4 (the server's statement_timeout is L/4 too). It counts itself
  leader only until L after the *sending* of its last answered confirm; a failed or late
  confirm, or a closed connection, ends its leadership at once.
- Its session runs with `idle_session_timeout = L`: the server ends the session of a leader
  cut off from it (partition, frozen process) within L of its last query, which releases the
  lock; a killed process's socket is closed by its kernel, and the lock is released at once.
- The daemon's other sessions (its pool) run with `idle_in_transaction_session_timeout = L`
  (`Lease.pool_settings`): a leader cut off in the middle of a commit leaves its transaction
  open on the server, holding the leadership row FOR SHARE (`check_term`), and its
  successor's new term must update that row; the server rolls that transaction back within L
  of the last statement it received, as it ends the leadership session.
- A standby tries the lock every L/4 (a try, never a blocking wait: a session blocked in a
  wait is not idle, so the server would never reap a cut-off standby). Once it has the lock,
  it raises the term, then confirms for L more before it polls. The lock was released after
  the former leader sent its last answered confirm, so the former leader had stopped (L
  after that send) before the new one starts: two replicas never poll at the same time.
- Takeover after the leader is killed: within L/4 + L (plus a connect); after the leader is
  cut off: within L + L/4 + L of the last statement the server received from it (its last
  confirm, or a commit's after it), so of the cut at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import LiteralString

import psycopg

from notifier.store.postgres.schema import migrate
from notifier.store.postgres.target import (
    Connection,
    PostgresError,
    PostgresTarget,
    connect,
    first_line,
)

log = logging.getLogger(__name__)

GAUGE = "notifier_leader"
"""The metric that exports `Leadership.gauge`: 1 on the replica that polls, 0 elsewhere."""

LOCK = (0x4E6F7469, 1)
"""(classid, objid) of the leader's `pg_advisory_lock(int, int)`; advisory locks are per
database, so notifiers on different databases of one server never contend."""

MIN_LEASE = 1.0
"""Shorter, and an ordinary slow query (L/4) would cost a replica its leadership."""

_TRY_LOCK: LiteralString = "SELECT pg_try_advisory_lock(%s, %s)"
_CONFIRM: LiteralString = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::int4::oid"
    " AND objid = %s::int4::oid AND objsubid = 2 AND pid = pg_backend_pid() AND granted"
)
_NEW_TERM: LiteralString = (
    "UPDATE leadership SET term = term + 1, holder = %s, since = now() WHERE id = 1 RETURNING term"
)
_TERM: LiteralString = "SELECT term FROM leadership WHERE id = 1 FOR SHARE"


class Role(StrEnum):
    """What this replica does now, as /readyz, STATUS= and check-config say it."""

    LEADER = "leader"
    STANDBY = "standby"
    DISCONNECTED = "disconnected"


class NotLeaderError(PostgresError):
    """A commit under a term that is no longer the current one: another replica leads."""


@dataclass(frozen=True, slots=True)
class Lease:
    """The timing of leadership, all derived from one length (see the module docstring)."""

    seconds: float = 10.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.seconds) or self.seconds < MIN_LEASE:
            raise ValueError(
                f"a leadership lease is at least {MIN_LEASE:g} s, got {self.seconds!r}"
            )

    @property
    def confirm_every(self) -> float:
        return self.seconds / 4

    @property
    def answer_within(self) -> float:
        return self.seconds / 4

    @property
    def try_every(self) -> float:
        return self.seconds / 4

    @property
    def takeover_wait(self) -> float:
        return self.seconds

    @property
    def takeover_after_kill(self) -> float:
        """The longest a standby takes to poll after the leader's process died (no connect)."""
        return self.try_every + self.takeover_wait

    @property
    def takeover_after_cutoff(self) -> float:
        """The longest from the last statement the server received from a cut-off leader to
        its successor's poll."""
        return self.seconds + self.try_every + self.takeover_wait

    def server_settings(self) -> dict[str, float]:
        """The leadership session's settings, in ms: the server's half of the bound."""
        return {
            "idle_session_timeout": self.seconds * 1000,
            "statement_timeout": self.answer_within * 1000,
        }

    def pool_settings(self) -> dict[str, float]:
        """The settings of the daemon's other sessions, in ms: a transaction that a replica
        cut off mid-commit leaves open (holding the leadership row FOR SHARE, which its
        successor's new term waits for) is ended by the server within L."""
        return {"idle_in_transaction_session_timeout": self.seconds * 1000}


def default_holder() -> str:
    """Who holds the lock, as `leadership.holder` shows it: host and process."""
    return f"{socket.gethostname()} pid {os.getpid()}"


async def check_term(conn: Connection, term: int) -> None:
    """Inside the poller's commit transaction: raise NotLeaderError unless `term` is current.

    FOR SHARE holds off a successor's term increment until this transaction ends, so once a
    successor has its term, no commit under an older one can pass.
    """
    cursor = await conn.execute(_TERM)
    row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current != term:
        raise NotLeaderError(
            f"leadership term {term} is over (now {current}): another replica polls; "
            "this state is not committed"
        )


class _Lost(Exception):
    """The leadership connection can no longer vouch for the lock."""


class Leadership:
    """Contends for leadership while open: `async with Leadership(target) as leadership`."""

    def __init__(
        self,
        target: PostgresTarget,
        *,
        lease: Lease | None = None,
        holder: str | None = None,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._target = target
        self._lease = lease or Lease()
        self._holder = holder or default_holder()
        self._on_change = on_change
        self._role = Role.DISCONNECTED
        self._leading = False
        self._leading_until = -math.inf
        self._term: int | None = None
        self._confirmed = 0
        self._conn: Connection | None = None
        self._backend_pid: int | None = None
        self._became_leader = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost.set()
        self._expiry: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._problem = ""

    async def __aenter__(self) -> Leadership:
        self._task = asyncio.create_task(self._run(), name="notifier-leadership")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Step down, end the contention and close the connection (which frees the lock)."""
        self._step_down("the notifier is stopping", logging.INFO)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()
        self._role = Role.DISCONNECTED

    # -- what the daemon reads --------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this replica may poll: its lease has not run out."""
        if self._leading and time.monotonic() >= self._leading_until:
            self._step_down("its lease ran out before the lock was confirmed again")
        return self._leading

    @property
    def role(self) -> Role:
        return Role.LEADER if self.is_leader else self._role

    @property
    def gauge(self) -> int:
        """The value of `notifier_leader`."""
        return 1 if self.is_leader else 0

    @property
    def term(self) -> int | None:
        """The current term while leader (for `check_term`), else None."""
        return self._term if self.is_leader else None

    @property
    def lease(self) -> Lease:
        return self._lease

    @property
    def holder(self) -> str:
        return self._holder

    @property
    def confirmations(self) -> int:
        """How many times the lock was confirmed since this replica last took it."""
        return self._confirmed

    @property
    def backend_pid(self) -> int | None:
        """The server process of the leadership session (what pg_terminate_backend takes)."""
        return self._backend_pid

    async def wait_until_leader(self) -> int:
        """Return the term once this replica leads."""
        while True:
            await self._became_leader.wait()
            term = self.term
            if term is not None:
                return term

    async def wait_until_lost(self) -> None:
        """Return once this replica does not lead (at once, if it does not)."""
        await self._lost.wait()

    # -- contention ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._contend()
            except (_Lost, PostgresError) as exc:
                self._step_down(str(exc))
                self._report(str(exc))
            except Exception:  # a bug must not end the contention for good
                self._step_down("an unexpected error, logged")
                log.exception("%s: leadership failed; trying again", self._target.describe())
            await self._disconnect()
            self._role = Role.DISCONNECTED
            await asyncio.sleep(self._lease.try_every)

    async def _contend(self) -> None:
        lease = self._lease
        conn = await connect(
            self._target, connect_within=lease.answer_within, settings=lease.server_settings()
        )
        self._conn, self._backend_pid = conn, conn.info.backend_pid
        await self._migrated(conn)
        self._role = Role.STANDBY
        self._report("")
        while True:  # a try every L/4, never a blocking wait (see the module docstring)
            if await self._ask(conn, _TRY_LOCK, LOCK):
                break
            await asyncio.sleep(lease.try_every)
        term = int(str(await self._ask(conn, _NEW_TERM, (self._holder,))))
        log.info(
            "%s: leadership lock taken (term %d); polling in %.1f s, once any former "
            "leader's lease has run out",
            self._target.describe(), term, lease.takeover_wait,
        )  # fmt: skip
        self._confirmed = 0
        start = sent = time.monotonic()
        while (left := start + lease.takeover_wait - time.monotonic()) > 0:
            await asyncio.sleep(min(lease.confirm_every, left))
            sent = await self._confirm(conn)
        self._become_leader(term, sent + lease.seconds)
        while self._leading:
            await asyncio.sleep(lease.confirm_every)
            sent = await self._confirm(conn)
            if self._leading:
                self._extend(sent + lease.seconds)
        raise _Lost("its lease ran out before the lock was confirmed again")

    async def _migrated(self, conn: Connection) -> None:
        try:
            await migrate(conn, self._target.describe())
        except psycopg.Error as exc:
            raise PostgresError(f"{self._target.describe()}: cannot migrate: {exc}") from None

    async def _confirm(self, conn: Connection) -> float:
        """Confirm the lock; returns when the confirm was sent (the lease counts from it)."""
        sent = time.monotonic()
        if not await self._ask(conn, _CONFIRM, LOCK):
            raise _Lost("the advisory lock is no longer held by this session")
        self._confirmed += 1
        return sent

    async def _ask(
        self, conn: Connection, query: LiteralString, args: tuple[object, ...]
    ) -> object:
        """The first column of the query's one row, answered within `answer_within`."""
        asked = asyncio.ensure_future(_first_value(conn, query, args))
        try:
            done, _ = await asyncio.wait({asked}, timeout=self._lease.answer_within)
        finally:
            if not asked.done():  # late, or this task is cancelled: nobody waits for it
                asked.add_done_callback(_forget)
        if not done:
            await self._disconnect()  # before the cancel, which would wait for the server
            asked.cancel()
            raise _Lost(f"PostgreSQL did not answer within {self._lease.answer_within:g} s")
        try:
            return asked.result()
        except psycopg.Error as exc:
            raise _Lost(f"the leadership connection failed: {first_line(exc)}") from None

    # -- transitions --------------------------------------------------------------------------

    def _become_leader(self, term: int, until: float) -> None:
        self._term, self._leading, self._role = term, True, Role.LEADER
        self._extend(until)
        self._lost.clear()
        self._became_leader.set()
        log.info("%s: leader (term %d): this replica polls", self._target.describe(), term)
        self._tell(True)

    def _extend(self, until: float) -> None:
        self._leading_until = until
        if self._expiry is not None:
            self._expiry.cancel()
        delay = max(0.0, until - time.monotonic())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        if self._leading and time.monotonic() < self._leading_until:
            self._extend(self._leading_until)
        else:
            _ = self.is_leader  # steps down

    def _step_down(self, reason: str, level: int = logging.WARNING) -> None:
        if not self._leading:
            return
        self._leading, self._role = False, Role.STANDBY
        self._leading_until = -math.inf
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._became_leader.clear()
        self._lost.set()
        log.log(
            level,
            "%s: no longer leader (term %s): %s; this replica stops polling",
            self._target.describe(), self._term, reason,
        )  # fmt: skip
        self._tell(False)

    def _tell(self, leading: bool) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(leading)
        except Exception:
            log.exception("the leadership change handler failed")

    def _report(self, problem: str) -> None:
        """Log a connection problem once, and its end once."""
        if problem and problem != self._problem:
            log.warning("%s: leadership: %s; trying again", self._target.describe(), problem)
        elif not problem and self._problem:
            log.info("%s: leadership connection is back; standing by", self._target.describe())
        self._problem = problem

    async def _disconnect(self) -> None:
        conn, self._conn, self._backend_pid = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
                async with asyncio.timeout(self._lease.answer_within):
                    await conn.close()


async def _first_value(conn: Connection, query: LiteralString, args: tuple[object, ...]) -> object:
    cursor = await conn.execute(query, args)
    row = await cursor.fetchone()
    return row[0] if row else None


def _forget(task: asyncio.Future[object]) -> None:
    """A query given up on: its outcome no longer matters, but is retrieved."""
    if not task.cancelled():
        task.exception()


@dataclass(frozen=True, slots=True)
class LeaderInfo:
    """Who leads a shared store, as `check-config --connect` reports it."""

    term: int
    holder: str
    held: bool
    """A session holds the leadership lock now: `holder` polls (else nobody does)."""

    def describe(self) -> str:
        if self.held and self.holder:
            return f"leader: {self.holder} (term {self.term}); every other replica stands by"
        return f"no replica leads now (last leader: {self.holder or 'none'}, term {self.term})"


async def who_leads(conn: Connection) -> LeaderInfo:
    """The current term, its holder and whether the lock is held, on a migrated store."""
    cursor = await conn.execute("SELECT term, holder FROM leadership WHERE id = 1")
    row = await cursor.fetchone()
    term, holder = (int(str(row[0])), str(row[1])) if row else (0, "")
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::int4::oid"
        " AND objid = %s::int4::oid AND objsubid = 2 AND granted",
        LOCK,
    )
    held = await cursor.fetchone()
    return LeaderInfo(term, holder, bool(held and int(str(held[0]))))
