"""Delivery claims on the shared outbox: each due delivery goes to one replica, and a dead
replica's claims come back when their lease runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from notifier.core.routing import RoutingRules, plan_all
from notifier.store.postgres.claims import DeliveryClaims
from notifier.store.postgres.schema import migrate
from notifier.store.postgres.store import PostgresStore
from notifier.store.postgres.target import Connection, PostgresTarget, connect, open_pool
from notifier.store.postgres.tracked import TrackedStateStore
from notifier.store.protocol import Delivery
from tests import postgres
from tests.contract.test_tracked_state import T0, active_job, poll

LATER = T0 + timedelta(hours=1)


@pytest.fixture
async def outbox(
    postgres_db: postgres.Database,
) -> AsyncIterator[tuple[PostgresTarget, AsyncConnectionPool[Connection]]]:
    """A shared outbox holding 12 due deliveries: 12 jobs started, each submitter's email."""
    target = PostgresTarget(postgres_db.url, postgres_db.password)
    async with await connect(target, connect_within=5) as conn:
        await migrate(conn, "test")
        await conn.execute("UPDATE leadership SET term = 1")
    pool = await open_pool(target, size=4, connect_within=5)
    store = TrackedStateStore(pool, target, term=lambda: 1)
    state, _ = poll(await store.load_state(), 0)
    await store.commit(state, [], [], T0)
    state, events = poll(state, 1, *(active_job(f"J{n}") for n in range(12)))
    await store.commit(state, events, plan_all(events, RoutingRules()), T0)
    try:
        yield target, pool
    finally:
        await pool.close()


def ids(deliveries: list[Delivery]) -> set[int]:
    return {d.id for d in deliveries}


async def test_replicas_claiming_at_once_share_the_due_deliveries_without_overlap(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    target, pool = outbox
    a, b = (DeliveryClaims(pool, target, name, lease=60) for name in ("a", "b"))
    first, second = await asyncio.gather(a.claim_due(LATER, 8), b.claim_due(LATER, 8))
    assert not ids(first) & ids(second)
    assert len(ids(first) | ids(second)) == 12
    assert await a.claim_due(LATER, 8) == [] and await b.claim_due(LATER, 8) == []


async def test_nothing_is_claimed_before_it_is_due(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    target, pool = outbox
    claims = DeliveryClaims(pool, target, "a", lease=60)
    assert await claims.claim_due(T0 - timedelta(seconds=1), 100) == []
    assert len(await claims.claim_due(T0, 100)) == 12


async def test_a_dead_replicas_claims_return_when_their_lease_runs_out(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    target, pool = outbox
    dead = DeliveryClaims(pool, target, "dead", lease=0.5)
    survivor = DeliveryClaims(pool, target, "survivor", lease=60)
    taken = await dead.claim_due(LATER, 100)
    claimed_at = time.monotonic()
    assert len(taken) == 12
    assert await survivor.claim_due(LATER, 100) == []  # still the dead replica's

    deadline = claimed_at + 10
    while not (returned := await survivor.claim_due(LATER, 100)):
        assert time.monotonic() < deadline, "the claims never came back"
        await asyncio.sleep(0.05)
    assert time.monotonic() - claimed_at >= 0.5
    assert ids(returned) == ids(taken)


async def test_only_the_holder_records_a_retry_but_a_send_is_always_recorded(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    target, pool = outbox
    slow = DeliveryClaims(pool, target, "slow", lease=0.3)
    fast = DeliveryClaims(pool, target, "fast", lease=60)
    mine = (await slow.claim_due(LATER, 1))[0]
    others = await fast.claim_due(LATER, 100)
    assert mine.id not in ids(others) and len(others) == 11
    deadline = time.monotonic() + 10
    while not await fast.claim_due(LATER, 1):  # until the slow replica's lease runs out
        assert time.monotonic() < deadline, "the claim never came back"
        await asyncio.sleep(0.05)

    assert not await slow.mark_retry([mine.id], "421 try later", LATER, LATER)  # not its claim
    assert await fast.mark_sent([mine.id], "<twin@example.com>", LATER)
    assert not await slow.mark_sent([mine.id], "<twin@example.com>", LATER)  # already sent

    retried = others[0]
    later = LATER + timedelta(minutes=5)
    assert await fast.mark_retry([retried.id], "421 try later", later, LATER)
    assert await slow.claim_due(LATER, 100) == []  # not due yet; the rest are fast's
    again = await slow.claim_due(later, 100)
    assert [d.id for d in again] == [retried.id]
    assert again[0].attempts == 1 and again[0].last_error == "421 try later"


async def test_a_finished_delivery_waits_for_its_outcome_before_it_is_claimed(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    target, pool = outbox
    claims = DeliveryClaims(pool, target, "a", lease=60)
    assert len(await claims.claim_due(LATER, 100)) == 12  # the 12 started
    store = TrackedStateStore(pool, target, term=lambda: 1)
    state = await store.load_state()
    for minute in (2, 3):  # J0 is missing from two polls: finished
        state, events = poll(state, minute, *(active_job(f"J{n}") for n in range(1, 12)))
        await store.commit(state, events, plan_all(events, RoutingRules()), T0)
    assert [e.kind.value for e in events] == ["finished"]
    assert await claims.claim_due(LATER, 100) == []  # its outcome is not known yet


@pytest.mark.parametrize("limit", [1, 100])
async def test_replicas_claiming_one_recipients_digest_at_once_make_one_digest_of_it(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]], limit: int
) -> None:
    """All 12 deliveries are someone@example.com's, held for one digest: whichever replica
    claims it gets all 12 (`limit` counts recipients), the other none, however the two
    claims interleave."""
    target, pool = outbox
    store = PostgresStore(pool, target, term=lambda: 1, claim_lease=60, holder="loop")
    held = await store.due_deliveries(LATER, 100)
    await store.hold([d.id for d in held], LATER, LATER)
    a, b = (DeliveryClaims(pool, target, name, lease=60) for name in ("a", "b"))
    for _ in range(20):
        first, second = await asyncio.gather(
            a.claim_digests(LATER, limit), b.claim_digests(LATER, limit)
        )
        assert sorted([len(first), len(second)]) == [0, 12]
        assert ids(first or second) == ids(held)
        async with pool.connection() as conn:  # the digest failed to go: free it again
            await conn.execute("UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL")


async def test_a_running_replica_keeps_its_claims_past_the_lease_and_gives_them_back_as_it_stops(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    """A send slower than the lease keeps its claim while its replica runs (renewed every
    quarter lease); a stopping replica hands back what it did not send at once."""
    target, pool = outbox
    running = PostgresStore(pool, target, term=lambda: 1, claim_lease=1.5, holder="running")
    other = DeliveryClaims(pool, target, "other", lease=60)
    taken = await running.due_deliveries(LATER, 100)
    assert len(taken) == 12
    keeper = asyncio.create_task(running.keep_claims())
    try:
        watched = time.monotonic()
        while time.monotonic() - watched < 4.0:  # more than two leases
            assert await other.claim_due(LATER, 100) == [], "a live replica lost its claims"
            await asyncio.sleep(0.1)
    finally:
        keeper.cancel()
    await running.release_claims()
    assert ids(await other.claim_due(LATER, 100)) == ids(taken)


async def test_a_replica_stops_counting_on_its_claims_before_another_can_take_them(
    outbox: tuple[PostgresTarget, AsyncConnectionPool[Connection]],
) -> None:
    """A replica that cannot renew (cut off from the database) must not send what it
    claimed once another replica may: at every moment, at most one of them may send."""
    target, pool = outbox
    cut_off = DeliveryClaims(pool, target, "cut-off", lease=1.0)
    other = DeliveryClaims(pool, target, "other", lease=60)
    taken = [d.id for d in await cut_off.claim_due(LATER, 100)]
    assert len(taken) == 12 and cut_off.may_send(taken)
    deadline = time.monotonic() + 10
    while not (retaken := await other.claim_due(LATER, 100)):
        assert time.monotonic() < deadline, "the claims never came back"
        await asyncio.sleep(0.02)
    assert not cut_off.may_send(taken), "both replicas may send the same deliveries"
    assert ids(retaken) == set(taken) and other.may_send(taken)
