"""Benchmark: memory and CPU of an idle `notifier run` watching 100 jobs polled every 30 s.

Starts the real command (`python -m notifier run -c FILE`) against the simulator in this
process (100 Running jobs that do not change) and an SMTP sink, lets it make its first poll,
then watches it for `duration` seconds: resident memory from /proc/PID/status (VmRSS, the
largest sample, and VmHWM) and CPU from /proc/PID/stat (utime + stime over wall time).
Targets: RSS < 60 MB and CPU < 0.5 % of one core. Linux only. `run()` returns the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import SENDER
from bench.harness import wait_until as until
from bench.sink import SinkProcess
from notifier.sim import DEFAULT_PASSWORD, DEFAULT_USER, Pacing, Simulator

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def config_text(ips_url: str, smtp_port: int, store: Path, interval: float) -> str:
    # JSON strings are valid TOML basic strings.
    return "\n".join(
        [
            "[ips]",
            f"url = {json.dumps(ips_url)}",
            f"user = {json.dumps(DEFAULT_USER)}",
            f"password = {json.dumps(DEFAULT_PASSWORD)}",
            "[poll]",
            f"interval = {interval}",
            "[smtp]",
            'host = "127.0.0.1"',
            f"port = {smtp_port}",
            f"from = {json.dumps(SENDER)}",
            "[store]",
            f"path = {json.dumps(str(store))}",
            "[http]",
            'listen = ""',
            "[log]",
            'level = "warning"',
            "",
        ]
    )


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (every thread), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_kb(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


async def watch(pid: int, duration: float) -> dict[str, float]:
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    peak_rss = 0
    while (elapsed := time.monotonic() - started) < duration:
        peak_rss = max(peak_rss, memory_kb(pid)["VmRSS"])
        await asyncio.sleep(min(1.0, max(0.0, duration - elapsed)))
    cpu = cpu_seconds(pid) - cpu_before
    wall = time.monotonic() - started
    memory = memory_kb(pid)
    peak_rss = max(peak_rss, memory["VmRSS"])
    return {
        "watched_s": round(wall, 1),
        "cpu_s": round(cpu, 2),
        "cpu_percent": 100 * cpu / wall,
        "rss_mb": memory["VmRSS"] / 1024,
        "peak_rss_mb": peak_rss / 1024,
        "hwm_mb": memory["VmHWM"] / 1024,
    }


async def measure(jobs: int, interval: float, duration: float, directory: Path) -> dict[str, Any]:
    sim = Simulator(pacing=Pacing(jobs=0))
    sim.populate(jobs, companies=5)
    await sim.start()
    try:
        with SinkProcess() as sink:
            config = directory / "notifier.toml"
            config.write_text(config_text(sim.url, sink.port, directory / "n.sqlite3", interval))
            with (directory / "notifier.log").open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "notifier", "run", "-c", str(config),
                    cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                )  # fmt: skip
            try:
                first = "the daemon's first poll"
                await until(lambda: sim.requests >= 1 or process.returncode is not None, 30, first)
                await asyncio.sleep(1.0)  # the first poll's diff and commit
                if process.returncode is not None:
                    raise RuntimeError((directory / "notifier.log").read_text())
                figures = await watch(process.pid, duration)
                polls = sim.requests
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
    finally:
        await sim.stop()
    return {
        "jobs": jobs,
        "poll_interval_s": interval,
        "polls": polls,
        **figures,
        "target_rss_mb": 60,
        "target_cpu_percent": 0.5,
    }


def run(jobs: int = 100, interval: float = 30.0, duration: float = 180.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp:
        return asyncio.run(measure(jobs, interval, duration, Path(tmp)))


def main() -> int:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 180.0
    r = run(duration=duration)
    print(
        f"footprint: idle `notifier run`, {r['jobs']} jobs, poll every "
        f"{r['poll_interval_s']:.0f} s, watched {r['watched_s']:.0f} s ({r['polls']} polls)"
    )
    print(
        f"  RSS {r['rss_mb']:.1f} MB (largest sample {r['peak_rss_mb']:.1f} MB, "
        f"VmHWM {r['hwm_mb']:.1f} MB)"
    )
    print(f"  CPU {r['cpu_s']:.2f} s = {r['cpu_percent']:.3f} % of one core")
    print("  targets: RSS < 60 MB, CPU < 0.5 %")
    return 0 if r["peak_rss_mb"] < 60 and r["cpu_percent"] < 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
