"""The poller's half of the PostgreSQL store under leadership: only the current term commits."""

from __future__ import annotations

import asyncio

import pytest

from notifier.store.postgres.leadership import Leadership, Lease, NotLeaderError
from notifier.store.postgres.schema import migrate
from notifier.store.postgres.target import PostgresTarget, connect, open_pool
from notifier.store.postgres.tracked import TrackedStateStore
from tests import postgres
from tests.contract.test_tracked_state import active_job, commit, poll


async def set_term(target: PostgresTarget, term: int) -> None:
    async with await connect(target, connect_within=5) as conn:
        await migrate(conn, "test")
        await conn.execute("UPDATE leadership SET term = %s", (term,))


@pytest.fixture
def target(postgres_db: postgres.Database) -> PostgresTarget:
    return PostgresTarget(postgres_db.url, postgres_db.password)


async def test_a_commit_under_a_term_that_is_over_is_refused_and_writes_nothing(
    target: PostgresTarget,
) -> None:
    await set_term(target, 1)
    pool = await open_pool(target, size=2, connect_within=5)
    try:
        former = TrackedStateStore(pool, target, term=lambda: 1)
        state, _ = poll(await former.load_state(), 0)
        await commit(former, state, [])
        await set_term(target, 2)  # a successor took over

        later, events = poll(state, 1, active_job("A"))
        with pytest.raises(NotLeaderError, match="term 1 is over"):
            await commit(former, later, events)

        successor = TrackedStateStore(pool, target, term=lambda: 2)
        assert await successor.load_state() == state
    finally:
        await pool.close()


async def test_a_state_loaded_under_another_term_is_not_committed(
    target: PostgresTarget,
) -> None:
    await set_term(target, 1)
    terms = [1]
    pool = await open_pool(target, size=2, connect_within=5)
    try:
        store = TrackedStateStore(pool, target, term=lambda: terms[-1])
        state, _ = poll(await store.load_state(), 0)
        terms.append(3)  # lost and regained: someone else may have led in between
        await set_term(target, 3)
        with pytest.raises(NotLeaderError, match="loaded under term 1, this is term 3"):
            await commit(store, state, [])
        state, _ = poll(await store.load_state(), 0)
        await commit(store, state, [])
        assert await store.load_state() == state
    finally:
        await pool.close()


async def test_the_successor_goes_on_from_the_state_its_predecessor_committed(
    target: PostgresTarget, postgres_cluster: postgres.Cluster
) -> None:
    lease = Lease(1.0)
    pool = await open_pool(target, size=2, connect_within=5)
    first = Leadership(target, lease=lease, holder="first")
    try:
        async with first:
            await asyncio.wait_for(first.wait_until_leader(), 10)
            leader = TrackedStateStore(pool, target, term=lambda: first.term)
            state, _ = poll(await leader.load_state(), 0)
            await commit(leader, state, [])
            state, events = poll(state, 1, active_job("A"), active_job("B"))
            await commit(leader, state, events)

            async with Leadership(target, lease=lease, holder="second") as second:
                pid = first.backend_pid
                assert pid is not None and postgres_cluster.terminate(pid)
                await asyncio.wait_for(second.wait_until_leader(), 10)
                successor = TrackedStateStore(pool, target, term=lambda: second.term)
                assert await successor.load_state() == state
                assert first.term is None  # the lock is the successor's
                with pytest.raises(NotLeaderError, match="does not lead"):
                    await commit(leader, poll(state, 2)[0], [])
                assert len(state.jobs) == 2
    finally:
        await pool.close()


async def test_commits_go_on_after_the_server_restarts(private_postgres: postgres.Cluster) -> None:
    database = private_postgres.create_database()
    target = PostgresTarget(database.url, database.password)
    await set_term(target, 1)
    pool = await open_pool(target, size=2, connect_within=5)
    try:
        store = TrackedStateStore(pool, target, term=lambda: 1)
        state, _ = poll(await store.load_state(), 0)
        await commit(store, state, [])
        await asyncio.to_thread(private_postgres.stop, "immediate")
        await asyncio.to_thread(private_postgres.start)

        state, events = poll(state, 1, active_job("A"))
        await commit(store, state, events)  # on a fresh connection: the old one is broken
        assert await store.load_state() == state
    finally:
        await pool.close()
