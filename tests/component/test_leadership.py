"""Leadership on a real PostgreSQL server: one replica polls, and hands over within the bound.

The lease is 1 s here (10 s by default): confirms every 0.25 s, takeover 1 s after the lock.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import psycopg
import pytest

from notifier.store.postgres.leadership import Leadership, Lease, NotLeaderError, Role, check_term
from notifier.store.postgres.target import PostgresTarget
from tests import postgres
from tests.waiting import wait_until

LEASE = Lease(1.0)
# A loaded 2-core machine may run a step late; the bound itself is what the assertions name.
SLACK = 1.0


@dataclass(slots=True)
class Replica:
    """One contender and the moments it began or stopped leading."""

    name: str
    leadership: Leadership
    changes: list[tuple[float, bool]] = field(default_factory=list)


@pytest.fixture
async def replicas(postgres_db: postgres.Database) -> AsyncIterator[list[Replica]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(_replica(postgres_db, n)) for n in ("a", "b")]


class _replica:
    def __init__(self, database: postgres.Database, name: str) -> None:
        self.replica: Replica | None = None
        self.database, self.name = database, name

    async def __aenter__(self) -> Replica:
        changes: list[tuple[float, bool]] = []
        leadership = Leadership(
            PostgresTarget(self.database.url, self.database.password),
            lease=LEASE,
            holder=self.name,
            on_change=lambda leading: changes.append((time.monotonic(), leading)),
        )
        self.replica = Replica(self.name, leadership, changes)
        await leadership.__aenter__()
        return self.replica

    async def __aexit__(self, *exc: object) -> None:
        assert self.replica is not None
        await self.replica.leadership.close()


async def first_leader(replicas: list[Replica], within: float = 10.0) -> Replica:
    waits = {asyncio.ensure_future(r.leadership.wait_until_leader()): r for r in replicas}
    done, pending = await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    assert done, f"no replica became leader within {within} s"
    return waits[done.pop()]


async def lock_holders(database: postgres.Database) -> list[int]:
    async with await psycopg.AsyncConnection.connect(database.conninfo) as conn:
        cursor = await conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        return [int(row[0]) for row in await cursor.fetchall()]


async def test_of_two_replicas_exactly_one_leads(
    replicas: list[Replica], postgres_db: postgres.Database
) -> None:
    leader = await first_leader(replicas)
    other = next(r for r in replicas if r is not leader)
    assert leader.leadership.role is Role.LEADER and leader.leadership.gauge == 1
    assert leader.leadership.term == 1
    seen = leader.leadership.confirmations
    await wait_until(
        lambda: leader.leadership.confirmations >= seen + 8, "two more leases of confirms"
    )
    assert leader.leadership.is_leader
    assert not other.leadership.is_leader and other.changes == []
    assert other.leadership.role is Role.STANDBY and other.leadership.gauge == 0
    assert await lock_holders(postgres_db) == [leader.leadership.backend_pid]


async def test_a_leader_whose_connection_is_killed_hands_over_within_the_bound(
    replicas: list[Replica], postgres_cluster: postgres.Cluster, postgres_db: postgres.Database
) -> None:
    leader = await first_leader(replicas)
    other = next(r for r in replicas if r is not leader)
    term = await leader.leadership.wait_until_leader()
    pid = leader.leadership.backend_pid
    assert pid is not None

    killed = time.monotonic()
    assert postgres_cluster.terminate(pid)
    new_term = await asyncio.wait_for(
        other.leadership.wait_until_leader(), LEASE.takeover_after_kill + SLACK
    )

    assert time.monotonic() - killed <= LEASE.takeover_after_kill + SLACK
    assert new_term == term + 1
    stepped_down = next(at for at, leading in leader.changes if not leading)
    took_over = next(at for at, leading in other.changes if leading)
    assert stepped_down < took_over, "the two replicas led at the same time"
    async with await psycopg.AsyncConnection.connect(postgres_db.conninfo) as conn:
        async with conn.transaction():
            await check_term(conn, new_term)
        with pytest.raises(NotLeaderError, match=f"term {term} is over"):
            async with conn.transaction():
                await check_term(conn, term)
    await wait_until(lambda: leader.leadership.role is Role.STANDBY, "the former leader to rejoin")


async def test_a_leader_whose_server_does_not_answer_stops_before_anyone_else_leads(
    replicas: list[Replica],
) -> None:
    leader = await first_leader(replicas)
    other = next(r for r in replicas if r is not leader)
    pid = leader.leadership.backend_pid
    assert pid is not None

    frozen = time.monotonic()
    os.kill(pid, signal.SIGSTOP)  # its server process hangs; the lock stays taken
    try:
        await asyncio.wait_for(leader.leadership.wait_until_lost(), LEASE.seconds + SLACK)
        assert time.monotonic() - frozen <= LEASE.seconds + SLACK
        assert not leader.leadership.is_leader
        assert not other.leadership.is_leader, "a successor led while the lock was still held"
    finally:
        os.kill(pid, signal.SIGCONT)
    # The thawed server process finds its client gone and exits: the lock is free again.
    await first_leader(replicas, within=LEASE.takeover_after_kill + 5)


def held_by(database: postgres.Database, pid: int) -> bool:
    with psycopg.connect(database.conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s",
            (pid,),
        ).fetchone()
    return bool(row and row[0])


async def test_a_frozen_leader_loses_its_session_after_its_lease_and_polls_no_more(
    replicas: list[Replica], postgres_db: postgres.Database
) -> None:
    leader = await first_leader(replicas)
    pid = leader.leadership.backend_pid
    assert pid is not None

    # The whole process stops (this test blocks its event loop), as a leader cut off from
    # the network would: the server ends the silent session (idle_session_timeout), which
    # frees the lock. Waiting here is a blocking loop on purpose.
    frozen = time.monotonic()
    while held_by(postgres_db, pid):
        assert time.monotonic() - frozen <= LEASE.seconds + SLACK, "the session outlived its lease"
        time.sleep(0.05)  # noqa: ASYNC251 - the freeze is the point
    assert not leader.leadership.is_leader, "awake again, the frozen leader still led"
    assert leader.changes[-1][1] is False
    await first_leader(replicas, within=LEASE.takeover_after_kill + SLACK)


async def test_a_leader_notices_its_server_stopping_and_leads_again_after_a_restart(
    private_postgres: postgres.Cluster,
) -> None:
    database = private_postgres.create_database()
    async with _replica(database, "solo") as solo:
        await asyncio.wait_for(solo.leadership.wait_until_leader(), 10)
        stopped = time.monotonic()
        await asyncio.to_thread(private_postgres.stop, "immediate")
        await asyncio.wait_for(solo.leadership.wait_until_lost(), LEASE.seconds + SLACK)
        assert time.monotonic() - stopped <= LEASE.seconds + SLACK
        await wait_until(
            lambda: solo.leadership.role is Role.DISCONNECTED, "the replica to see no server"
        )

        await asyncio.to_thread(private_postgres.start)
        term = await asyncio.wait_for(solo.leadership.wait_until_leader(), 15)
        assert term == 2
        assert [leading for _, leading in solo.changes] == [True, False, True]


def test_the_lease_bounds_follow_from_its_length() -> None:
    lease = Lease(10.0)
    assert lease.confirm_every + lease.answer_within < lease.seconds
    assert lease.server_settings() == {"idle_session_timeout": 10000.0, "statement_timeout": 2500.0}
    assert lease.takeover_after_kill == 12.5
    assert lease.takeover_after_cutoff == 22.5
    with pytest.raises(ValueError, match=r"at least 1 s"):
        Lease(0.0)
