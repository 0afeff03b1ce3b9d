"""Benchmark: the outcomes of 2,000 finished jobs recorded at once, PostgreSQL beside SQLite.

A burst's `finished` deliveries wait for their outcome: the delivery loop reads the job logs
and hands every outcome it found to `set_completions` in one call, which also makes the
deliveries ready (or skips those not wanted for the outcome). Nothing is sent before it
returns. This measures that call (wall time, median of several rounds, the two stores in
alternating order) on a SqliteStore and on a PostgresStore of a private durable server
(bench/pgcluster.py), each holding the same 2,000 finished events and their deliveries.
`run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import pgcluster
from bench.diff import ROUTING, RULES, T0, listing, open_postgres
from notifier.core.diff import Snapshot, diff
from notifier.core.events import Completion
from notifier.core.outcome import Outcome
from notifier.core.routing import plan_all
from notifier.core.state import TrackedState
from notifier.store.protocol import Store
from notifier.store.sqlite import SqliteStore
from tests.postgres import Cluster

ROUNDS = 3


async def finished_burst(store: Store, jobs: int) -> int:
    """`jobs` Running jobs tracked, then all gone: their finished events and deliveries
    committed, waiting for outcomes. How many wait."""
    state, _ = diff(TrackedState(), Snapshot({"47": listing({})[:jobs]}), T0, RULES)
    await store.commit(state, [], [], T0)
    for minute in range(1, 4):  # until the diff confirms every job finished
        now = T0 + timedelta(minutes=minute)
        state, events = diff(state, Snapshot({"47": []}), now, RULES)
        await store.commit(state, events, plan_all(events, ROUTING), now)
    return len(await store.awaiting_completion())


async def timed_outcomes(store: Store) -> float:
    """Wall seconds of one `set_completions` of every waiting event."""
    waiting = await store.awaiting_completion()
    outcomes = {event.id: Completion(outcome=Outcome.SUCCEEDED) for event in waiting}
    started = time.perf_counter()
    await store.set_completions(outcomes, T0 + timedelta(minutes=5))
    return time.perf_counter() - started


async def measure(jobs: int, cluster: Cluster, directory: Path) -> dict[str, Any]:
    times: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    waiting = 0
    for round_ in range(ROUNDS):
        stores: list[tuple[str, Store]] = [
            ("sqlite", await SqliteStore.open(directory / f"outcomes-{round_}.sqlite3")),
            ("postgres", await open_postgres(cluster.create_database("bench"))),
        ]
        for name, store in stores[:: 1 if round_ % 2 else -1]:
            try:
                waiting = await finished_burst(store, jobs)
                times[name].append(await timed_outcomes(store))
            finally:
                await store.close()
    sqlite_s, postgres_s = (statistics.median(times[k]) for k in ("sqlite", "postgres"))
    return {
        "jobs": jobs,
        "waiting": waiting,
        "rounds": ROUNDS,
        "sqlite_ms": round(sqlite_s * 1000, 1),
        "postgres_ms": round(postgres_s * 1000, 1),
        "postgres_over_sqlite": round(postgres_s / sqlite_s, 1),
    }


def run(jobs: int = 2_000, cluster: Cluster | None = None) -> dict[str, Any]:
    """On databases of `cluster`, else of a durable server of its own (bench/pgcluster.py)."""
    with tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp, ExitStack() as stack:
        if cluster is None:
            cluster = stack.enter_context(pgcluster.durable_cluster())
        return asyncio.run(measure(jobs, cluster, Path(tmp)))


def main() -> int:
    r = run()
    print(
        f"outcomes of {r['jobs']:,} finished jobs in one set_completions, wall, median of "
        f"{r['rounds']}"
    )
    print(f"  SQLite      {r['sqlite_ms']:8.1f} ms")
    print(f"  PostgreSQL  {r['postgres_ms']:8.1f} ms   ({r['postgres_over_sqlite']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
