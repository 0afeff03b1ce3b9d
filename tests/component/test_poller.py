"""The poll loop against the simulator over HTTP and a real SQLite store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier.core.events import EventKind
from notifier.core.rules import DiffRules
from notifier.ips.client import IpsClient
from notifier.metrics import Metrics
from notifier.poller import Poller
from notifier.sim import DEFAULT_PASSWORD, DEFAULT_USER, Fault, FaultKind, Pacing, Simulator
from notifier.sim import Outcome as SimOutcome
from notifier.store.sqlite import SqliteStore
from tests.waiting import wait_until

INTERVAL = 0.2


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(pacing=Pacing(jobs=0), companies=("47", "48"))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "state.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


def make_poller(
    client: IpsClient, store: SqliteStore, companies: tuple[str, ...], metrics: Metrics
) -> Poller:
    return Poller(
        client,
        store,
        DiffRules(finish_confirm_polls=2, stall_after=timedelta(hours=1)),
        companies=companies,
        interval=INTERVAL,
        max_backoff=5.0,
        metrics=metrics,
        clock=lambda: datetime.now(UTC),
    )


def add_running(sim: Simulator, company: str, name: str) -> str:
    job = sim.add_job(
        company_handle=company,
        name=name,
        state="Running",
        progress=10,
        submit_user_email="someone@example.com",
    )
    return job.job_handle


async def test_a_failed_poll_changes_nothing_and_backs_off(
    sim: Simulator, store: SqliteStore
) -> None:
    handle = add_running(sim, "47", "Catalog")
    async with IpsClient(sim.url, DEFAULT_USER, DEFAULT_PASSWORD, timeout=5) as client:
        poller = make_poller(client, store, ("47",), Metrics())
        await poller.poll_round()
        sim.finish_job("47", handle, SimOutcome.SUCCEEDED)
        for kind in (FaultKind.SOAP_FAULT, FaultKind.HTML, FaultKind.TRUNCATED):
            sim.inject(Fault(kind))
            before = await store.load_state()
            assert await poller.poll_round() == []
            assert await store.load_state() == before
        health = poller.health.scopes["47"]
        assert health.failures == 3
        # Three failures in a row: the next try waits longer than one interval.
        assert health.next_due - time.monotonic() > 4 * INTERVAL
        events = [e for _ in range(2) for e in await poller.poll_round()]
    assert [e.kind for e in events] == [EventKind.FINISHED]


async def test_a_refused_company_does_not_hold_back_the_others(
    sim: Simulator, store: SqliteStore
) -> None:
    async with IpsClient(sim.url, DEFAULT_USER, DEFAULT_PASSWORD, timeout=5) as client:
        poller = make_poller(client, store, ("47", "unknown-company"), Metrics())
        await poller.poll_round()
        add_running(sim, "47", "Upload")
        events = await poller.poll_round()
    assert [e.kind for e in events] == [EventKind.STARTED]
    assert poller.health.refusal() == "authorizationFault 20000"
    assert poller.health.last_success() is None  # not every company is fresh: not ready


async def test_wrong_credentials_are_reported_and_nothing_is_notified(
    sim: Simulator, store: SqliteStore
) -> None:
    add_running(sim, "47", "Video")
    metrics = Metrics()
    async with IpsClient(sim.url, DEFAULT_USER, "wrong-password", timeout=5) as client:
        poller = make_poller(client, store, ("47",), metrics)
        assert await poller.poll_round() == []
    assert poller.health.refusal().startswith("authenticationFault")
    assert b'notifier_polls_total{result="auth_error"} 1.0' in metrics.render()
    assert (await store.load_state()).jobs == {}


async def test_run_polls_on_schedule_until_stopped(sim: Simulator, store: SqliteStore) -> None:
    async with IpsClient(sim.url, DEFAULT_USER, DEFAULT_PASSWORD, timeout=5) as client:
        poller = make_poller(client, store, ("47", "48"), Metrics())
        stop = asyncio.Event()
        running = asyncio.create_task(poller.run(stop))
        await wait_until(lambda: sim.requests >= 10, "ten polls")
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert sim.requests >= 10
    assert all(h.last_success is not None for h in poller.health.scopes.values())
