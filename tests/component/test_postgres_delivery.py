"""The delivery loop on the shared PostgreSQL outbox, the real Mailer and an aiosmtpd
server: a replica whose claims may have run out (it could not renew them) sends no more of
them, so the replica that takes them over is the only one to send them."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
from psycopg_pool import AsyncConnectionPool

from notifier.core.routing import RoutingRules, plan_all
from notifier.delivery.loop import DeliveryLoop
from notifier.mail.channel import EmailChannel
from notifier.mail.sender import Mailer
from notifier.store.postgres.schema import migrate
from notifier.store.postgres.store import PostgresStore
from notifier.store.postgres.target import Connection, PostgresTarget, connect, open_pool
from notifier.store.protocol import DeliveryStatus
from tests import postgres
from tests.component.test_delivery_loop import SETTINGS, build
from tests.contract.test_tracked_state import T0, active_job, poll
from tests.smtp_sink import SmtpSink

JOBS = 12
LEASE = 1.0
SEND = 0.3
"""Seconds the server takes per message: a few sends fit in one lease, not all twelve."""


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
async def shared(
    postgres_db: postgres.Database,
) -> AsyncIterator[tuple[PostgresTarget, AsyncConnectionPool[Connection]]]:
    """A shared outbox owing 12 emails (12 jobs started, one submitter)."""
    target = PostgresTarget(postgres_db.url, postgres_db.password)
    async with await connect(target, connect_within=5) as conn:
        await migrate(conn, "test")
        await conn.execute("UPDATE leadership SET term = 1")
    pool = await open_pool(target, size=4, connect_within=5)
    store = PostgresStore(pool, target, term=lambda: 1, claim_lease=60, holder="poller")
    state, _ = poll(await store.load_state(), 0)
    await store.commit(state, [], [], T0)
    state, events = poll(state, 1, *(active_job(f"J{n}") for n in range(JOBS)))
    await store.commit(state, events, plan_all(events, RoutingRules()), T0)
    try:
        yield target, pool
    finally:
        await pool.close()


async def test_a_replica_that_cannot_renew_its_claims_stops_sending_and_the_next_sends_the_rest(
    shared: tuple[PostgresTarget, AsyncConnectionPool[Connection]], sink: SmtpSink
) -> None:
    target, pool = shared
    one_at_a_time = Mailer(sink.host, sink.port, timeout=5.0, max_connections=1)
    channel = EmailChannel(one_at_a_time, SETTINGS, build=build)
    # No `keep_claims`: as if every renewal failed (the database out of reach).
    cut_off = PostgresStore(pool, target, term=lambda: 1, claim_lease=LEASE, holder="cut-off")
    survivor = PostgresStore(pool, target, term=lambda: 1, claim_lease=60, holder="survivor")
    sink.set_delay(SEND)
    try:
        report = await DeliveryLoop(cut_off, [channel]).run_once(T0)
        sent_by_cut_off = len(sink.messages)
        assert 1 <= report.sent == sent_by_cut_off < JOBS
        left = await survivor.list_deliveries([DeliveryStatus.PENDING])
        assert len(left) == JOBS - sent_by_cut_off  # not sent, not given up: still owed

        sink.set_delay(0)
        taking_over = DeliveryLoop(survivor, [channel])
        deadline = time.monotonic() + 10
        while await survivor.list_deliveries([DeliveryStatus.PENDING]):
            assert time.monotonic() < deadline, "the cut-off replica's claims never ran out"
            await taking_over.run_once(T0)
            await asyncio.sleep(0.05)
    finally:
        await one_at_a_time.close()
    per_job = Counter(str(m.message["Subject"]) for m in sink.messages)
    assert len(per_job) == JOBS and set(per_job.values()) == {1}, per_job
    assert await survivor.list_deliveries([DeliveryStatus.PENDING]) == []
