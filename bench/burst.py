"""Benchmark: N jobs finish at once; the daemon's emails against raw aiosmtplib, same sink.

Measures, in one run, against one aiosmtpd sink in a process of its own:
  daemon  the notifier daemon, in this process, polling the simulator (N Running jobs, already
          seen): all N finish at once (each with a job log), and the time runs from the poll
          that first saw them gone to the sink's acceptance of the last email
  raw     aiosmtplib sending N prebuilt emails of the same kind over as many pooled
          connections as smtp.max_connections (the faster of one run before and one after)
and prints raw time / daemon time (the daemon's share of the raw rate; target >= 0.7).
`run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib

from bench.harness import MAX_CONNECTIONS, SENDER, PollTimes, bench_config, running_daemon
from bench.harness import wait_until as until
from bench.sink import SinkProcess
from notifier.core.events import EventKind, Outcome
from notifier.mail.message import build_message
from notifier.mail.preview import sample_completion, sample_event
from notifier.sim import Outcome as SimOutcome
from notifier.sim import Pacing, Simulator

LOCALES = ("en-US", "de-DE", "ja-JP", "fr-FR")  # as Simulator.populate spreads them
POLL_INTERVAL = 0.2


def prebuilt_messages(count: int) -> list[EmailMessage]:
    """Finished-job emails as the daemon would send them, built before the clock starts."""
    completion = sample_completion(Outcome.SUCCEEDED)
    return [
        build_message(
            sample_event(EventKind.FINISHED, LOCALES[n % len(LOCALES)]), completion, sender=SENDER
        )
        for n in range(count)
    ]


async def send_raw(port: int, messages: list[EmailMessage], connections: int) -> None:
    """Every message over `connections` aiosmtplib connections, each taking the next one."""
    pending = iter(messages)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await client.connect()
        try:
            for message in pending:
                await client.send_message(message)
        finally:
            await client.quit()

    async with asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(worker())


async def time_raw(sink: SinkProcess, messages: list[EmailMessage]) -> float:
    before = sink.count
    started = time.monotonic()
    await send_raw(sink.port, messages, MAX_CONNECTIONS)
    await sink.wait_for(before + len(messages), within=120)
    return sink.last_at - started


async def time_daemon(sink: SinkProcess, jobs: int, directory: Path) -> dict[str, float]:
    sim = Simulator(pacing=Pacing(jobs=0))
    polls = PollTimes(sim)
    sim.populate(jobs, companies=20)
    await sim.start()
    try:
        config = bench_config(sim.url, sink.port, directory / "burst.sqlite3", interval=0.2)
        async with running_daemon(config) as parts:
            await until(lambda: len(parts.poller.state.jobs) == jobs, 60, "the first poll")
            before = sink.count
            finished_at = time.monotonic()
            for key in list(sim.state.jobs):
                sim.finish_job(*key, SimOutcome.SUCCEEDED)
            await sink.wait_for(before + jobs, within=300)
            seen_at = polls.first_after(finished_at)
            assert seen_at is not None
            return {
                "daemon_s": sink.last_at - seen_at,
                "daemon_from_finish_s": sink.last_at - finished_at,
            }
    finally:
        await sim.stop()


async def measure(jobs: int) -> dict[str, Any]:
    messages = prebuilt_messages(jobs)
    with SinkProcess() as sink, tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp:
        raw_before = await time_raw(sink, messages)
        daemon = await time_daemon(sink, jobs, Path(tmp))
        raw_after = await time_raw(sink, messages)
    raw_s = min(raw_before, raw_after)
    return {
        "jobs": jobs,
        "connections": MAX_CONNECTIONS,
        "raw_s": raw_s,
        "raw_per_s": jobs / raw_s,
        **daemon,
        "daemon_per_s": jobs / daemon["daemon_s"],
        "daemon_over_raw_rate": raw_s / daemon["daemon_s"],
        "target_daemon_over_raw_rate": 0.7,
    }


def run(jobs: int = 2_000) -> dict[str, Any]:
    return asyncio.run(measure(jobs))


def main() -> int:
    r = run()
    print(f"burst: {r['jobs']:,} jobs finish at once; {r['connections']} SMTP connections")
    print(f"  raw aiosmtplib, prebuilt   {r['raw_s']:7.2f} s  {r['raw_per_s']:7.0f} emails/s")
    print(f"  daemon, from its poll      {r['daemon_s']:7.2f} s  {r['daemon_per_s']:7.0f} emails/s")
    print(f"  daemon, from the finish    {r['daemon_from_finish_s']:7.2f} s")
    print(f"  daemon rate / raw rate = {r['daemon_over_raw_rate']:.2f}   (target >= 0.7)")
    return 0 if r["daemon_over_raw_rate"] >= 0.7 else 1


if __name__ == "__main__":
    sys.exit(main())
