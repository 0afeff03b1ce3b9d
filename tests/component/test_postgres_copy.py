"""`notifier store copy`'s work: a SQLite store's rows into PostgreSQL, whole, checked, and the
same again when re-run; never over a database that replicas already use."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from notifier.core.routing import plan_all
from notifier.core.state import TrackedState
from notifier.store.postgres.claims import DeliveryClaims
from notifier.store.postgres.copy import CopyError, copy_to_postgres
from notifier.store.postgres.target import PostgresTarget, connect, open_pool
from notifier.store.postgres.tracked import TrackedStateStore
from notifier.store.protocol import DeliveryStatus
from notifier.store.sqlite import SqliteStore
from tests import postgres
from tests.contract.test_tracked_state import ROUTING, T0, active_job, poll


async def sqlite_store_in_use(path: Path) -> tuple[TrackedState, dict[int, str]]:
    """A store with 3 started jobs (6 deliveries: submitters and the team), one sent, one
    dead; returns its state and each delivery's status."""
    store = await SqliteStore.open(path)
    try:
        state, _ = poll(await store.load_state(), 0)
        await store.commit(state, [], [], T0)
        state, events = poll(state, 1, *(active_job(j) for j in ("A", "B", "C")))
        await store.commit(state, events, plan_all(events, ROUTING), T0)
        due = await store.due_deliveries(T0, 100)
        await store.mark_sent([due[0].id], "<a@example.com>", T0)
        await store.mark_dead([due[1].id], "550 no such user", T0)
        listed = await store.list_deliveries(list(DeliveryStatus), 1000)
    finally:
        await store.close()
    return state, {d.id: d.status.value for d in listed}


async def statuses_in(database: postgres.Database) -> dict[int, str]:
    async with await psycopg.AsyncConnection.connect(database.conninfo) as conn:
        cursor = await conn.execute("SELECT id, status FROM deliveries")
        return {int(i): str(s) for i, s in await cursor.fetchall()}


async def test_a_copy_holds_the_same_state_and_deliveries_and_a_rerun_changes_nothing(
    tmp_path: Path, postgres_db: postgres.Database
) -> None:
    path = tmp_path / "notifier.sqlite3"
    state, expected = await sqlite_store_in_use(path)
    target = PostgresTarget(postgres_db.url, postgres_db.password)
    assert sorted(expected.values()) == ["dead", "pending", "pending", "pending", "pending", "sent"]

    report = await copy_to_postgres(path, target)
    assert report.counts["deliveries"] == 6 and report.counts["tracked_jobs"] == 3
    assert "checked" in report.summary()
    assert await statuses_in(postgres_db) == expected
    again = await copy_to_postgres(path, target)
    assert again.counts == report.counts
    assert await statuses_in(postgres_db) == expected

    async with await connect(target, connect_within=5) as conn:
        await conn.execute("UPDATE leadership SET term = 1")  # as the first replica would
    pool = await open_pool(target, size=2, connect_within=5)
    try:
        assert await TrackedStateStore(pool, target, term=lambda: 1).load_state() == state
        claimed = await DeliveryClaims(pool, target, "r1", lease=60).claim_due(T0, 100)
        assert {d.id for d in claimed} == {i for i, s in expected.items() if s == "pending"}
    finally:
        await pool.close()


async def test_a_database_replicas_have_led_on_is_never_overwritten(
    tmp_path: Path, postgres_db: postgres.Database
) -> None:
    path = tmp_path / "notifier.sqlite3"
    await sqlite_store_in_use(path)
    target = PostgresTarget(postgres_db.url, postgres_db.password)
    await copy_to_postgres(path, target)
    async with await connect(target, connect_within=5) as conn:
        await conn.execute("UPDATE leadership SET term = 4")
        await conn.execute("DELETE FROM deliveries WHERE status = 'dead'")  # newer than the file
    before = await statuses_in(postgres_db)
    with pytest.raises(CopyError, match=r"has been used by notifier run \(leadership term 4\)"):
        await copy_to_postgres(path, target)
    assert await statuses_in(postgres_db) == before


async def test_a_missing_source_is_named(tmp_path: Path, postgres_db: postgres.Database) -> None:
    target = PostgresTarget(postgres_db.url, postgres_db.password)
    with pytest.raises(CopyError, match=r"no SQLite store at .*nothing\.sqlite3"):
        await copy_to_postgres(tmp_path / "nothing.sqlite3", target)


def test_the_command_copies_with_the_password_from_the_environment(
    tmp_path: Path, postgres_db: postgres.Database
) -> None:
    path = tmp_path / "notifier.sqlite3"
    asyncio.run(sqlite_store_in_use(path))
    config = tmp_path / "notifier.toml"
    config.write_text(
        '[ips]\nurl = "https://ips.example.com/x"\nuser = "u"\n'
        f'[smtp]\nfrom = "a@example.com"\n[store]\npath = "{path}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "NOTIFIER_STORE_PASSWORD": postgres_db.password}
    command = [sys.executable, "-m", "notifier", "store", "copy", "-c", str(config)]
    done = subprocess.run(
        [*command, "--to", postgres_db.url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"copied {path} to {postgres_db.url}: 3 tracked_jobs")
    assert postgres_db.password not in done.stdout + done.stderr

    with_password = postgres_db.url.replace("@", f":{postgres_db.password}@")
    refused = subprocess.run(
        [*command, "--to", with_password], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "has a password in it" in refused.stderr
    assert postgres_db.password not in refused.stdout + refused.stderr
