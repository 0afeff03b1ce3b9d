"""Benchmark: the 2,000-job burst with two delivering replicas on one PostgreSQL, beside one
daemon on SQLite, in one run, against one sink.

Every daemon is the real command (`python -m notifier run -c FILE`), each process with its
own event loop, so that two replicas can use the machine's two cores as two machines would
use theirs (in one process they would share one loop and one GIL, and measure nothing about
replicas). Each setup gets a fresh simulator (N Running jobs, already seen: the first poll
has committed all of them) and then all N finish at once:
  sqlite    one daemon on a SQLite file (the embedded default)
  pg_two    two replicas on one database of a private durable server (bench/pgcluster.py):
            one leads and polls, both claim due deliveries (`FOR UPDATE SKIP LOCKED`), each
            over its own `smtp.max_connections` connections
  pg_one    one daemon on a database of the same server: what the store costs, apart from
            what a second replica adds
The time runs from the poll that first saw the jobs gone to the sink's acceptance of the
last of the N emails (its first copy). The sink records every Message-ID: lost = N minus the
distinct finished-job Message-IDs, duplicates = copies beyond one. Each replica's share is
its own `notifier_emails_total{result="sent"}` (its /metrics). CPU over the burst (from the
finish to the last email) is read from /proc for each daemon, the PostgreSQL server, the
sink, this process (the simulator) and the whole machine, to show what bounds the rate.
`run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import cputime, pgcluster
from bench.daemons import Replica, config_text, environment, free_port, wait_for
from bench.harness import MAX_CONNECTIONS, PollTimes
from bench.harness import wait_until as until
from bench.sink import Accepted, SinkProcess
from notifier.sim import Outcome as SimOutcome
from notifier.sim import Pacing, Simulator
from tests.postgres import Cluster

LEADER_LEASE = 10.0
"""store.leader_lease, the default: a new leader confirms its lock this long before it polls."""
SETUPS = {
    "sqlite": "one daemon, SQLite",
    "pg_two": "two replicas, PG",
    "pg_one": "one daemon, PG",
}
OWED = "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'held')"
# The server's own counts (PostgreSQL only): transactions committed, WAL flushes to disk.
COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
WAL_SYNCS = "SELECT wal_sync FROM pg_stat_wal"
_SENT = re.compile(r'^notifier_emails_total\{result="sent"\} (\S+)$', re.MULTILINE)
_LEADER = re.compile(r"^notifier_leader (\S+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Setup:
    """One store and its daemons: a `store` table per daemon, how to count what it holds."""

    name: str
    stores: Sequence[Mapping[str, object]]
    password: str
    count: Callable[[str], Awaitable[int]]  # the result of one `SELECT count(*)`
    server: Path | None = None  # the PostgreSQL server's data directory


async def burst(sink: SinkProcess, jobs: int, setup: Setup, directory: Path) -> dict[str, Any]:
    """All `jobs` finish at once under this setup's daemons: the figures of that burst."""
    sim = Simulator(pacing=Pacing(jobs=0))
    polls = PollTimes(sim)
    sim.populate(jobs, companies=20)
    await sim.start()
    replicas: list[Replica] = []
    try:
        for n, store in enumerate(setup.stores):
            port = free_port()
            config = directory / f"{setup.name}-{n}.toml"
            config.write_text(config_text(sim.url, sink.port, port, store), encoding="utf-8")
            replicas.append(await Replica.start(config, environment(setup.password), port))
        tracked = "SELECT count(*) FROM tracked_jobs"
        await wait_for(lambda: _equals(setup.count(tracked), jobs), 120, "the first poll")
        for replica in replicas:
            await wait_for(lambda r=replica: _answers(r.get("/readyz")), 60, "every replica")
        sink.accepted()  # whatever came before the burst is not counted
        before, cpu_before = sink.count, _cpu(setup, sink, replicas)
        requests_before, polls_before = sim.requests, len(polls.served)
        server_before = await _server_counts(setup)
        finished_at = time.monotonic()
        for key in list(sim.state.jobs):
            sim.finish_job(*key, SimOutcome.SUCCEEDED)
        received: list[Accepted] = []
        await until(lambda: _distinct(_drain(sink, received)) >= jobs, 300, f"{jobs} emails")
        cpu = {k: v - cpu_before[k] for k, v in _cpu(setup, sink, replicas).items()}
        ips = {"ips_requests": sim.requests - requests_before}
        ips["polls"] = len(polls.served) - polls_before
        await wait_for(lambda: _equals(setup.count(OWED), 0), 60, "an empty outbox")
        sent = [int(await r.metric(_SENT)) for r in replicas]
        leading = [await r.metric(_LEADER) == 1 for r in replicas]
    finally:
        for replica in replicas:
            await replica.stop()
        await sim.stop()
    # Stopped: nothing more can come; the sink's queue holds every message it counted.
    # The backends have ended too, so the server's counts include all they did.
    if server_before:
        after = await _server_counts(setup)
        ips |= {f"server_{k}": after[k] - v for k, v in server_before.items()}
    await until(lambda: len(_drain(sink, received)) >= sink.count - before, 30, "the records")
    seen_at = polls.first_after(finished_at)
    assert seen_at is not None
    figures = _figures(setup.name, jobs, received, seen_at, finished_at, sent, leading, cpu)
    return figures | {f"{setup.name}_{k}": v for k, v in ips.items()}


def _cpu(setup: Setup, sink: SinkProcess, replicas: list[Replica]) -> dict[str, float]:
    """CPU seconds so far of each part, and of the machine (busy, and all its cores')."""
    busy, every = cputime.machine_seconds()
    found = {"machine_busy": busy, "machine": every, "bench": time.process_time()}
    found["sink"] = cputime.process_seconds(sink.pid)
    if setup.server is not None:
        found["server"] = cputime.server_seconds(setup.server)
    for n, replica in enumerate(replicas):
        found[f"daemon_{n}"] = cputime.process_seconds(replica.process.pid)
    return found


def _figures(
    name: str, jobs: int, received: list[Accepted], seen_at: float, finished_at: float,
    sent: list[int], leading: list[bool], cpu: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    finished = [r for r in received if r.event == "finished"]
    first: dict[str, float] = {}
    for record in finished:
        first[record.message_id] = min(first.get(record.message_id, record.at), record.at)
    last_at = max(first.values())
    busy, every = cpu.pop("machine_busy"), cpu.pop("machine")
    return {
        f"{name}_s": last_at - seen_at,
        f"{name}_from_finish_s": last_at - finished_at,
        f"{name}_first_email_s": min(first.values()) - seen_at,
        f"{name}_per_s": jobs / (last_at - seen_at),
        f"{name}_lost": jobs - len(first),
        f"{name}_duplicates": len(finished) - len(first),
        f"{name}_other_emails": len(received) - len(finished),
        f"{name}_sent_by_replica": sent,
        f"{name}_leader_by_replica": leading,
        f"{name}_cpu_s": {part: round(seconds, 2) for part, seconds in cpu.items()},
        f"{name}_machine_busy": round(busy / every, 3) if every else 0.0,
        f"{name}_cpu_ms_per_email": round(
            1000 * sum(v for k, v in cpu.items() if k.startswith(("daemon", "server"))) / jobs, 2
        ),
    }


async def _server_counts(setup: Setup) -> dict[str, int]:
    if setup.server is None:
        return {}
    return {"commits": await setup.count(COMMITS), "wal_syncs": await setup.count(WAL_SYNCS)}


def _drain(sink: SinkProcess, into: list[Accepted]) -> list[Accepted]:
    into.extend(sink.accepted())
    return into


def _distinct(received: list[Accepted]) -> int:
    return len({r.message_id for r in received if r.event == "finished"})


async def _equals(count: Awaitable[int], wanted: int) -> bool:
    return await count == wanted


async def _answers(get: Awaitable[tuple[int, str]]) -> bool:
    status, _ = await get
    return status == 200


def sqlite_setup(directory: Path) -> Setup:
    path = directory / "sqlite.sqlite3"

    async def count(query: str) -> int:
        if not path.exists():
            return -1
        return await asyncio.to_thread(_sqlite_count, path, query)

    return Setup("sqlite", [{"path": str(path)}], "", count)


def _sqlite_count(path: Path, query: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # no schema yet
        return -1
    finally:
        conn.close()


def postgres_setup(name: str, cluster: Cluster, replicas: int, directory: Path) -> Setup:
    database = cluster.create_database("bench")

    async def count(query: str) -> int:
        try:
            async with await psycopg.AsyncConnection.connect(database.conninfo) as conn:
                row = await (await conn.execute(query)).fetchone()  # type: ignore[arg-type]
        except psycopg.errors.UndefinedTable:  # no schema yet
            return -1
        return int(row[0]) if row else -1

    stores = [
        {
            "url": database.url,
            "leader_lease": LEADER_LEASE,
            "path": str(directory / f"{name}-{n}.sqlite3"),
        }
        for n in range(replicas)
    ]
    return Setup(name, stores, database.password, count, cluster.data)


async def measure(jobs: int, cluster: Cluster, directory: Path) -> dict[str, Any]:
    setups = [
        sqlite_setup(directory),
        postgres_setup("pg_two", cluster, 2, directory),
        postgres_setup("pg_one", cluster, 1, directory),
    ]
    figures: dict[str, Any] = {"jobs": jobs, "connections_per_daemon": MAX_CONNECTIONS}
    with SinkProcess(record=True) as sink:
        for setup in setups:
            figures |= await burst(sink, jobs, setup, directory)
    rate = {name: figures[f"{name}_per_s"] for name in ("sqlite", "pg_two", "pg_one")}
    return figures | {
        "pg_two_over_sqlite_rate": rate["pg_two"] / rate["sqlite"],
        "pg_one_over_sqlite_rate": rate["pg_one"] / rate["sqlite"],
        "pg_two_over_pg_one_rate": rate["pg_two"] / rate["pg_one"],
    }


def run(jobs: int = 2_000, cluster: Cluster | None = None) -> dict[str, Any]:
    """On databases of `cluster`, else of a durable server of its own (bench/pgcluster.py)."""
    with tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp, ExitStack() as stack:
        if cluster is None:
            cluster = stack.enter_context(pgcluster.durable_cluster())
        figures = asyncio.run(measure(jobs, cluster, Path(tmp)))
        shown = pgcluster.settings(cluster.create_database("bench"))
        return figures | {f"pg_{name}": value for name, value in shown.items()}


def main() -> int:
    r = run()
    print(
        f"burst: {r['jobs']:,} jobs finish at once; {r['connections_per_daemon']} SMTP "
        "connections per daemon; real `notifier run` processes"
    )
    for name, label in SETUPS.items():
        print(
            f"  {label:22} {r[f'{name}_s']:7.2f} s  {r[f'{name}_per_s']:6.0f} emails/s  "
            f"lost {r[f'{name}_lost']}, duplicates {r[f'{name}_duplicates']}, "
            f"sent by each {r[f'{name}_sent_by_replica']}"
        )
        print(f"  {'':22} CPU s {r[f'{name}_cpu_s']}, machine busy {r[f'{name}_machine_busy']:.0%}")
    print(f"  PG two replicas / SQLite one = {r['pg_two_over_sqlite_rate']:.2f}")
    print(f"  PG one / SQLite one = {r['pg_one_over_sqlite_rate']:.2f}")
    print(f"  PG two / PG one = {r['pg_two_over_pg_one_rate']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
