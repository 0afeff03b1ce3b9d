"""Benchmark: the cost of one poll (parse + diff + commit) at 1,000, 10,000 and 50,000 jobs.

For each size, the simulator's serialiser writes the getActiveJobs answer; then, against a
SqliteStore in a temporary directory, it times the first poll (empty store: every job is new)
and the median of three later polls in each of which about 1 % of the jobs moved on (a
different 1 % each time). Wall time, in this process: parse_active_jobs, diff, and
store.commit (whose SQLite work runs in the store's thread). Growth is linear when the cost
per job stays roughly constant: the figure is the per-job cost at 50,000 over that at 1,000.
The largest snapshot one process handles within a 1 s poll is extrapolated from the per-job
cost of a later poll at the largest size. `run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notifier.core.diff import ALL_COMPANIES, DiffRules, Snapshot, diff
from notifier.core.routing import RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.ips import parse_active_jobs
from notifier.sim import Pacing, Simulator
from notifier.sim.soap import active_jobs_envelope
from notifier.store.sqlite import SqliteStore

SIZES = (1_000, 10_000, 50_000)
LATER_POLLS = 3
RULES = DiffRules()
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def body_of(sim: Simulator) -> bytes:
    return active_jobs_envelope("".join(j.to_xml() for j in sim.state.jobs.values()))


def move_on(sim: Simulator, round_: int, now: datetime) -> None:
    """About 1 % of the jobs report progress, a different 1 % each round (each passes 50 %)."""
    keys = list(sim.state.jobs)
    for key in keys[round_ % 100 :: 100]:
        before = sim.state.get(*key).progress or 0
        sim.update_job(*key, progress=max(55, min(99, before + 1)), last_progress_update=now)


async def one_poll(
    store: SqliteStore, state: TrackedState, body: bytes, now: datetime
) -> tuple[TrackedState, float, int]:
    gc.collect()
    started = time.perf_counter()
    jobs = parse_active_jobs(body, max_bytes=len(body) + 1)
    new_state, events = diff(state, Snapshot(scopes={ALL_COMPANIES: jobs}), now, RULES)
    await store.commit(new_state, events, plan_all(events, RoutingRules()), now)
    return new_state, time.perf_counter() - started, len(events)


async def measure_size(jobs: int, directory: Path) -> dict[str, Any]:
    sim = Simulator(pacing=Pacing(jobs=0))
    sim.populate(jobs, companies=20)
    store = await SqliteStore.open(directory / f"scale-{jobs}.sqlite3")
    try:
        body = body_of(sim)
        state, first_s, _ = await one_poll(store, TrackedState(), body, T0)
        later, events = [], []
        for round_ in range(1, LATER_POLLS + 1):
            now = T0 + timedelta(seconds=30 * round_)
            move_on(sim, round_, now)
            state, seconds, count = await one_poll(store, state, body_of(sim), now)
            later.append(seconds)
            events.append(count)
    finally:
        await store.close()
    later_s = statistics.median(later)
    return {
        "jobs": jobs,
        "body_mb": round(len(body) / 1e6, 1),
        "first_ms": round(first_s * 1000, 1),
        "later_ms": round(later_s * 1000, 1),
        "later_events": statistics.median(events),
        "first_us_per_job": round(first_s / jobs * 1e6, 2),
        "later_us_per_job": round(later_s / jobs * 1e6, 2),
    }


async def measure(sizes: tuple[int, ...], directory: Path) -> dict[str, Any]:
    rows = [await measure_size(n, directory) for n in sizes]
    small, large = rows[0], rows[-1]
    per_job_s = large["later_us_per_job"] / 1e6
    return {
        "sizes": rows,
        "first_per_job_ratio": large["first_us_per_job"] / small["first_us_per_job"],
        "later_per_job_ratio": large["later_us_per_job"] / small["later_us_per_job"],
        "largest_in_1s_jobs": int(1.0 / per_job_s),
        "largest_in_1s_basis": f"later poll at {large['jobs']:,} jobs, extrapolated linearly",
    }


def run(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    # The response is larger than the client's default limit at 50,000 jobs: parse it whole.
    with tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp:
        return asyncio.run(measure(sizes, Path(tmp)))


def main() -> int:
    r = run()
    print("scale: one poll = parse + diff + commit (wall time)")
    print(f"  {'jobs':>7} {'MB':>6} {'first poll':>11} {'1% changed':>11} {'µs/job first':>13} "
          f"{'µs/job later':>13}")  # fmt: skip
    for row in r["sizes"]:
        print(
            f"  {row['jobs']:>7,} {row['body_mb']:>6} {row['first_ms']:>9.0f}ms "
            f"{row['later_ms']:>9.0f}ms {row['first_us_per_job']:>13} {row['later_us_per_job']:>13}"
        )
    print(f"  per-job cost 50k/1k: first poll {r['first_per_job_ratio']:.2f}, "
          f"later poll {r['later_per_job_ratio']:.2f}   (linear: about 1)")  # fmt: skip
    print(f"  largest snapshot within a 1 s poll: about {r['largest_in_1s_jobs']:,} jobs "
          f"({r['largest_in_1s_basis']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
