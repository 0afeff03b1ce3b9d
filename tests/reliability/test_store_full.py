"""A full disk under the store: the daemon says so, takes no work it cannot keep, loses nothing.

In-process, because the disk is emulated with SqliteStore's `max_pages` (a store that may not
grow fails the way a full disk does, SQLITE_FULL), which the `notifier run` command line has no
option for. The daemon's own parts are used (`wiring.assemble`, `Daemon.run`): the real
poller, delivery loop, IPS client and mailer, against the simulator and the SMTP sink.

1. The daemon records the active jobs on a store with room.
2. It starts again on the same file, now unable to grow; the jobs finish (with long
   descriptions, so that their events cannot fit in the pages already there). The daemon
   logs an ERROR naming the store, /readyz is not ready, no email goes out.
3. Room again (the next start has no cap): every completion is mailed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from notifier.config import load_config
from notifier.daemon import Daemon
from notifier.store.sqlite import SqliteStore
from notifier.wiring import assemble, ips_client, mailer, utc_now
from tests.reliability.conftest import COMPANY, PASSWORDS, Rig, record_figure, wait_until

JOBS = 30
LONG = "Beschreibung " * 265  # ~3.4 KB; with the rest of a job (task progress, detail)
# a finished event then needs one overflow page more than the tracked row it replaces


async def run_daemon(rig: Rig, config_path: Path, max_pages: int | None, scenario: object) -> None:
    config = load_config(config_path)
    store = await SqliteStore.open(config.store.path, max_pages=max_pages)
    try:
        async with ips_client(config) as client:
            smtp = mailer(config)
            try:
                daemon = Daemon(assemble(config, store, client, smtp, utc_now))
                running = asyncio.create_task(daemon.run())
                try:
                    assert callable(scenario)
                    await scenario(daemon)
                finally:
                    daemon.stop.set()
                    await asyncio.wait_for(running, 30)
            finally:
                await smtp.close()
    finally:
        await store.close()


def page_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


async def test_full_store_is_reported_and_loses_no_email(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config_path = rig.daemon().config
    handles = [rig.add_running_job(n, description=LONG)[1] for n in range(JOBS)]

    async def record_jobs(daemon: Daemon) -> None:
        await wait_until(
            lambda: daemon.parts.poller.health.active_jobs == JOBS, 30, "the jobs recorded"
        )

    await run_daemon(rig, config_path, None, record_jobs)
    full = page_count(rig.store)

    async def on_a_full_disk(daemon: Daemon) -> None:
        await wait_until(lambda: daemon.parts.poller.health.active_jobs == JOBS, 30, "load")
        for handle in handles:
            rig.sim.finish_job(COMPANY, handle, "succeeded")
        await wait_until(
            lambda: any(
                r.levelno == logging.ERROR and str(rig.store) in r.getMessage()
                for r in caplog.records
            ),
            30,
            "an ERROR naming the store",
        )
        ready, reason = await daemon.readiness()
        assert not ready
        assert "store" in reason
        before = rig.sim.requests
        await wait_until(lambda: rig.sim.requests >= before + 3, 30, "polls to go on")
        assert daemon.parts.poller.health.active_jobs == JOBS, "the jobs were dropped"

    await run_daemon(rig, config_path, full, on_a_full_disk)
    assert rig.sink.messages == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("is full" in line for line in errors), errors

    async def with_room(daemon: Daemon) -> None:
        await rig.sink.wait_for_messages(JOBS, within=60)

    await run_daemon(rig, config_path, None, with_room)
    mailed = {m.message["X-IPS-Job-Handle"] for m in rig.sink.messages}
    assert mailed == set(handles)
    assert not any(secret in caplog.text for secret in PASSWORDS)
    record_figure(
        f"full store ({full} pages, no room): {JOBS} completions held back, "
        f"{len(errors)} ERROR line(s) naming the store, /readyz unready; "
        f"{len(mailed)} of {JOBS} mailed once there was room"
    )
