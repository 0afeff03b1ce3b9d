"""Ten thousand active jobs in twenty companies, polled every second: the daemon stays flat.

Soak only (10 minutes by default; RELIABILITY_LOAD_SECONDS shortens it). While the simulator
lists 10,000 jobs and keeps a light churn going (jobs finishing, new ones starting, so that
emails flow too), the test samples the daemon from the outside every few seconds:
resident memory (VmRSS in /proc/PID/status), open sockets and threads (/proc/PID/fd and
/proc/PID/task). After a warm-up, memory must grow by less than 10% and sockets and threads
must not grow. The daemon exposes no asyncio task count or loop-lag metric: the lag figure
is the round trip of GET /healthz, timed by a separate process (lag_probe.py), p99 < 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.conftest import ROOT, Rig, metric, record_figure, wait_until

JOBS = 10_000
COMPANIES = 20
CHURN_EVERY = 5.0
CHURN_JOBS = 10
WARM_UP = 60.0
SAMPLE_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    rss_kib: int
    sockets: int
    threads: int


def sample(pid: int, at: float) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            continue  # closed between listdir and readlink
    threads = len(os.listdir(f"/proc/{pid}/task"))
    return Sample(at, rss, sockets, threads)


async def churn(rig: Rig, stop: asyncio.Event) -> int:
    """Every few seconds some jobs finish and as many new ones start; returns how many."""
    companies = sorted({job.company_handle for job in (s.job for s in rig.sim.state.jobs.values())})
    finished = 0
    serial = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), CHURN_EVERY)
        for key in list(rig.sim.state.jobs)[:CHURN_JOBS]:
            rig.sim.finish_job(key[0], key[1], "succeeded")
            finished += 1
            serial += 1
            rig.add_running_job(
                1_000_000 + serial, company_handle=companies[serial % len(companies)]
            )
    return finished


async def run_load(rig: Rig, seconds: float) -> None:
    rig.sim.populate(JOBS, COMPANIES)
    companies = [str(100 + n) for n in range(COMPANIES)]
    daemon = await rig.started(
        rig.config(
            ips={"companies": companies, "timeout": 10},
            poll={"interval": 1.0, "finish_confirm_polls": 2},
            notify={"events": ["started", "finished"]},
        )
    )

    async def listed_all() -> bool:
        return (await metric(daemon, "notifier_active_jobs") or 0) >= JOBS

    await wait_until(listed_all, 120, f"the daemon to list {JOBS} jobs")
    stop = asyncio.Event()
    churning = asyncio.create_task(churn(rig, stop))
    probe = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reliability.lag_probe",
        str(daemon.http_port),
        str(seconds),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    started = time.monotonic()
    requests_before = rig.sim.requests
    samples: list[Sample] = []
    while time.monotonic() - started < seconds:
        assert not daemon.exited(), f"the daemon died under load:\n{daemon.log()[-3000:]}"
        samples.append(sample(daemon.pid, time.monotonic() - started))
        await asyncio.sleep(SAMPLE_EVERY)  # the sampling period, not a synchronisation
    output, _ = await probe.communicate()
    stop.set()
    finished = await churning
    polls = rig.sim.requests - requests_before
    await wait_until(
        lambda: len(rig.sink.messages) >= finished, 120, "the churn's emails to be delivered"
    )
    assert await daemon.terminate() == 0
    report(samples, json.loads(output), polls, seconds, finished, len(rig.sink.messages))


def report(
    samples: list[Sample],
    lag: dict[str, float],
    requests: int,
    seconds: float,
    finished: int,
    emails: int,
) -> None:
    warm = [s for s in samples if s.at >= min(WARM_UP, seconds / 4)]
    window = max(2, len(warm) // 10)
    first, last = warm[:window], warm[-window:]
    rss_before = statistics.median(s.rss_kib for s in first)
    rss_after = statistics.median(s.rss_kib for s in last)
    growth = (rss_after - rss_before) / rss_before * 100
    sockets_before = max(s.sockets for s in first)
    sockets_after = max(s.sockets for s in last)
    threads_before = max(s.threads for s in first)
    threads_after = max(s.threads for s in last)
    record_figure(
        f"load: {JOBS} jobs in {COMPANIES} companies polled every 1 s for {seconds:.0f} s "
        f"({requests} IPS requests, {finished} jobs churned, {emails} emails): "
        f"RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB ({growth:+.1f}%), "
        f"sockets {sockets_before} -> {sockets_after}, threads {threads_before} -> "
        f"{threads_after}, /healthz round trip p50 {lag['p50_ms']:.1f} ms, "
        f"p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms "
        f"({lag['count']:.0f} probes, {lag['failures']:.0f} failed)"
    )
    assert growth < 10, f"resident memory grew {growth:.1f}%"
    assert sockets_after <= sockets_before, "open sockets grew"
    assert threads_after <= threads_before, "threads grew"
    assert lag["failures"] == 0
    assert lag["p99_ms"] < 50


@pytest.mark.soak
async def test_ten_thousand_jobs_for_ten_minutes(rig: Rig) -> None:
    await run_load(rig, float(os.environ.get("RELIABILITY_LOAD_SECONDS", "600")))
