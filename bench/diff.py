"""Benchmark: diff and commit a 10,000-job snapshot in which 1 % of the jobs changed.

Measures CPU time (time.process_time, every thread of the process: the store's worker
thread included), in one run, against a store holding the previous snapshot:
  diff         notifier.core.diff on the new snapshot
  commit       SqliteStore.commit of the new state and its events (only changed rows)
  naive        the same state and events written the "rewrite everything" way: delete every
               tracked row and insert all 10,000 again, in one transaction, on a copy of
               the same store
and prints diff + commit (target < 50 ms) and naive / commit (target >= 10).
Each figure is the median of several rounds. `run()` returns the figures for bench/run.py.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notifier.core.codec import encode_event, encode_tracked_job
from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.store.schema import fold
from notifier.store.sqlite import SqliteStore

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


async def measure(directory: Path) -> dict[str, Any]:
    store = await SqliteStore.open(directory / "bench.sqlite3")
    progress: dict[int, int] = {}
    state, _ = diff(TrackedState(), Snapshot({"47": listing(progress)}), T0, RULES)
    await store.commit(state, [], [], T0)
    diffs, commits, naives, event_counts = [], [], [], []
    for round_ in range(1, ROUNDS + 1):
        now = T0 + timedelta(minutes=round_)
        # 1 % of the jobs move on, a different 1 % each round; half of them pass 50 %.
        for k in range(round_ * CHANGED, (round_ + 1) * CHANGED):
            progress[k] = 60 if k % 2 else 20
        snapshot = Snapshot({"47": listing(progress)})
        gc.collect()
        started = time.process_time()
        new_state, events = diff(state, snapshot, now, RULES)
        diffed = time.process_time()
        # The naive way first, on a copy of the store as it is before this round's commit.
        naives.append(await asyncio.to_thread(time_naive, store.path, directory, new_state, events))
        gc.collect()
        before_commit = time.process_time()
        await store.commit(new_state, events, plan_all(events, ROUTING), now)
        committed = time.process_time()
        diffs.append(diffed - started)
        commits.append(committed - before_commit)
        event_counts.append(len(events))
        state = new_state
    await store.close()
    return _figures(diffs, commits, naives, event_counts)


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


def _figures(
    diffs: list[float], commits: list[float], naives: list[float], events: list[int]
) -> dict[str, Any]:
    diff_ms = statistics.median(diffs) * 1000
    commit_ms = statistics.median(commits) * 1000
    naive_ms = statistics.median(naives) * 1000
    return {
        "jobs": JOBS,
        "changed_jobs": CHANGED,
        "events_per_round": statistics.median(events),
        "rounds": len(diffs),
        "diff_ms": round(diff_ms, 2),
        "commit_ms": round(commit_ms, 2),
        "diff_plus_commit_ms": round(diff_ms + commit_ms, 2),
        "naive_commit_ms": round(naive_ms, 2),
        "naive_over_commit": round(naive_ms / commit_ms, 1) if commit_ms else float("inf"),
        "target_diff_plus_commit_ms": 50,
        "target_naive_over_commit": 10,
    }


def run() -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    try:
        return asyncio.run(measure(directory))
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
