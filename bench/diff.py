"""Benchmark: diff and commit a 10,000-job snapshot in which 1 % of the jobs changed.

Measures CPU time (time.process_time, every thread of the process: the store's worker
thread included), in one run, against a store holding the previous snapshot:
  diff         notifier.core.diff on the new snapshot
  commit       SqliteStore.commit of the new state and its events (only changed rows)
  naive        the same state and events written the "rewrite everything" way: delete every
               tracked row and insert all 10,000 again, in one transaction, on a copy of
               the same store
  postgres     PostgresStore.commit of the same state and events, in the same rounds, on a
               private durable server (bench/pgcluster.py), under a leadership term as a
               leader commits
and prints diff + commit (target < 50 ms) and naive / commit (target >= 10). CPU time does
not count the PostgreSQL server's work (its own processes), so the two stores are compared
by WALL time of the commit (time.perf_counter), each round's two commits one after the
other, in alternating order. Each figure is the median of several rounds. `run()` returns
the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import pgcluster
from notifier.core.codec import encode_event, encode_tracked_job
from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.store.postgres.schema import migrate
from notifier.store.postgres.store import PostgresStore
from notifier.store.postgres.target import PostgresTarget, connect, open_pool
from notifier.store.protocol import Store
from notifier.store.schema import fold
from notifier.store.sqlite import SqliteStore
from tests.postgres import Cluster, Database, available

JOBS = 10_000
CHANGED = JOBS // 100
ROUNDS = 7
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = DiffRules()
ROUTING = RoutingRules()


def listing(progress_of: dict[int, int]) -> list[ActiveJob]:
    return [
        ActiveJob(
            "47", f"47|Publish {k}|", f"Publish {k}", f"publish-{k}.zip",
            JobType.IMAGE_SERVING_PUBLISH, JobState.RUNNING, f"user{k % 97}@example.com",
            ("en-US", "de-DE", "pt-BR", "zh-CN")[k % 4], "Nightly publish", "ips1",
            T0 - timedelta(hours=2), None, 1_000_000 + k, progress_of.get(k, 10), "Publishing",
            T0 - timedelta(minutes=progress_of.get(k, 10)), "ImageServingPublish", "Running",
        )
        for k in range(JOBS)
    ]  # fmt: skip


def naive_commit(conn: sqlite3.Connection, state: TrackedState, events: list[Event]) -> None:
    """The whole state rewritten, as a store without change tracking would."""
    now = 0
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM tracked_jobs")
    conn.executemany(
        "INSERT INTO tracked_jobs (company_handle, job_handle, tracked) VALUES (?, ?, ?)",
        [(k[0], k[1], encode_tracked_job(t)) for k, t in state.jobs.items()],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO events (id, kind, run_id, event, created_at) VALUES (?, ?, ?, ?, ?)",
        [(e.id, e.kind.value, e.thread_id, encode_event(e), now) for e in events],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO deliveries (event_id, channel, recipient, recipient_key, ready,"
        " status, created_at, pending_since, next_attempt_at, updated_at)"
        " VALUES (?, 'email', ?, ?, 1, 'pending', ?, ?, ?, ?)",
        [
            (e.id, e.job.submit_user_email or "", fold(e.job.submit_user_email or "")) + (now,) * 4
            for e in events
        ],
    )
    conn.execute("COMMIT")


async def open_postgres(database: Database) -> PostgresStore:
    """The whole store, leading under term 1, as a replica that won the election."""
    target = PostgresTarget(database.url, database.password)
    async with await connect(target, connect_within=10) as conn:
        await migrate(conn, target.describe())
        await conn.execute("UPDATE leadership SET term = 1")
    pool = await open_pool(target, size=2, connect_within=10)
    store = PostgresStore(pool, target, term=lambda: 1, claim_lease=60, holder="bench")
    await store.load_state()  # a leader loads the state under its term before committing
    return store


async def timed_commit(
    store: Store, state: TrackedState, events: list[Event], now: datetime
) -> tuple[float, float]:
    """(CPU, wall) seconds of one commit of `state` and `events`."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await store.commit(state, events, plan_all(events, ROUTING), now)
    return time.process_time() - cpu, time.perf_counter() - wall


async def measure(directory: Path, database: Database | None) -> dict[str, Any]:
    store = await SqliteStore.open(directory / "bench.sqlite3")
    postgres = await open_postgres(database) if database is not None else None
    progress: dict[int, int] = {}
    state, _ = diff(TrackedState(), Snapshot({"47": listing(progress)}), T0, RULES)
    await store.commit(state, [], [], T0)
    if postgres is not None:
        await postgres.commit(state, [], [], T0)
    times: dict[str, list[float]] = {
        k: [] for k in ("diff", "diff_wall", "commit", "commit_wall", "pg", "pg_wall")
    }
    naives, event_counts = [], []
    for round_ in range(1, ROUNDS + 1):
        now = T0 + timedelta(minutes=round_)
        # 1 % of the jobs move on, a different 1 % each round; half of them pass 50 %.
        for k in range(round_ * CHANGED, (round_ + 1) * CHANGED):
            progress[k] = 60 if k % 2 else 20
        snapshot = Snapshot({"47": listing(progress)})
        gc.collect()
        started, wall = time.process_time(), time.perf_counter()
        new_state, events = diff(state, snapshot, now, RULES)
        times["diff"].append(time.process_time() - started)
        times["diff_wall"].append(time.perf_counter() - wall)
        # The naive way first, on a copy of the store as it is before this round's commit.
        naives.append(await asyncio.to_thread(time_naive, store.path, directory, new_state, events))
        commits: list[tuple[str, Store]] = [("commit", store)]
        if postgres is not None:  # alternate: neither store always gets the warmer cache
            commits.insert(round_ % 2, ("pg", postgres))
        for name, target in commits:
            cpu, wall = await timed_commit(target, new_state, events, now)
            times[name].append(cpu)
            times[f"{name}_wall"].append(wall)
        event_counts.append(len(events))
        state = new_state
    await store.close()
    if postgres is not None:
        await postgres.close()
    return _figures(times, naives, event_counts)


def time_naive(path: Path, directory: Path, state: TrackedState, events: list[Event]) -> float:
    """CPU time of a naive commit of `state` and `events`, on a copy of the store."""
    copy = directory / "naive.sqlite3"
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    conn = sqlite3.connect(copy, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        gc.collect()
        started = time.process_time()
        naive_commit(conn, state, events)
        return time.process_time() - started
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else 0.0


def _figures(
    times: dict[str, list[float]], naives: list[float], events: list[int]
) -> dict[str, Any]:
    diff_ms, commit_ms, naive_ms = _ms(times["diff"]), _ms(times["commit"]), _ms(naives)
    figures: dict[str, Any] = {
        "jobs": JOBS,
        "changed_jobs": CHANGED,
        "events_per_round": statistics.median(events),
        "rounds": len(times["diff"]),
        "diff_ms": round(diff_ms, 2),
        "commit_ms": round(commit_ms, 2),
        "diff_plus_commit_ms": round(diff_ms + commit_ms, 2),
        "naive_commit_ms": round(naive_ms, 2),
        "naive_over_commit": round(naive_ms / commit_ms, 1) if commit_ms else float("inf"),
        "target_diff_plus_commit_ms": 50,
        "target_naive_over_commit": 10,
    }
    if not times["pg"]:
        return figures
    diff_wall, sqlite_wall = _ms(times["diff_wall"]), _ms(times["commit_wall"])
    pg_wall = _ms(times["pg_wall"])
    return figures | {
        "sqlite_synchronous": "FULL (journal_mode WAL)",
        "diff_wall_ms": round(diff_wall, 2),
        "sqlite_commit_wall_ms": round(sqlite_wall, 2),
        "pg_commit_wall_ms": round(pg_wall, 2),
        "pg_commit_cpu_ms": round(_ms(times["pg"]), 2),
        "sqlite_diff_plus_commit_wall_ms": round(diff_wall + sqlite_wall, 2),
        "pg_diff_plus_commit_wall_ms": round(diff_wall + pg_wall, 2),
        "pg_over_sqlite_commit_wall": round(pg_wall / sqlite_wall, 2),
        "pg_over_sqlite_diff_plus_commit_wall": round(
            (diff_wall + pg_wall) / (diff_wall + sqlite_wall), 2
        ),
    }


def run(cluster: Cluster | None = None, *, postgres: bool | None = None) -> dict[str, Any]:
    """SQLite, and PostgreSQL beside it unless `postgres` is False (None: if PostgreSQL is
    installed; without it, the SQLite rows alone): on a database of `cluster`, else of a
    durable server of its own (bench/pgcluster.py), removed after."""
    if postgres is None:
        postgres = cluster is not None or available()
    directory = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    try:
        if not postgres:
            return asyncio.run(measure(directory, None))
        with ExitStack() as stack:
            if cluster is None:
                cluster = stack.enter_context(pgcluster.durable_cluster())
            database = cluster.create_database("bench")
            figures = asyncio.run(measure(directory, database))
            shown = pgcluster.settings(database)
            return figures | {f"pg_{name}": value for name, value in shown.items()}
    finally:
        shutil.rmtree(directory)


def main() -> int:
    figures = run()
    print(
        f"diff + commit of {figures['jobs']} jobs, {figures['changed_jobs']} changed "
        f"({figures['events_per_round']} events), CPU, median of {figures['rounds']} rounds"
    )
    print(f"  diff                 {figures['diff_ms']:8.2f} ms")
    print(f"  commit (changed rows){figures['commit_ms']:8.2f} ms")
    print(f"  diff + commit        {figures['diff_plus_commit_ms']:8.2f} ms   (target < 50)")
    print(f"  naive rewrite commit {figures['naive_commit_ms']:8.2f} ms")
    print(f"  naive / commit       {figures['naive_over_commit']:8.1f} x    (target >= 10)")
    ok = figures["diff_plus_commit_ms"] < 50 and figures["naive_over_commit"] >= 10
    if "pg_commit_wall_ms" not in figures:
        print("PostgreSQL is not installed: SQLite only")
        return 0 if ok else 1
    print("wall time, the same rounds: SQLite beside PostgreSQL")
    print(f"  SQLite commit        {figures['sqlite_commit_wall_ms']:8.2f} ms")
    print(
        f"  PostgreSQL commit    {figures['pg_commit_wall_ms']:8.2f} ms"
        f"   (CPU in this process {figures['pg_commit_cpu_ms']:.2f} ms)"
    )
    print(f"  PG / SQLite, commit  {figures['pg_over_sqlite_commit_wall']:8.2f} x")
    print(f"  PG / SQLite, diff + commit {figures['pg_over_sqlite_diff_plus_commit_wall']:.2f} x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
