"""A `notifier run` process for the benchmarks that need real daemons: its configuration file
(bench/harness.py's burst configuration, with a store and an HTTP port of its own), its
environment, its /readyz and /metrics, and its clean stop.

Owns starting and stopping the processes it starts. Never measures anything.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import aiohttp

from bench.harness import SENDER
from notifier.sim import DEFAULT_PASSWORD, DEFAULT_USER

ROOT = Path(__file__).resolve().parents[1]
POLL_INTERVAL = 0.2


def config_text(ips_url: str, smtp_port: int, http_port: int, store: Mapping[str, object]) -> str:
    """bench/harness.py's burst configuration, as a file (JSON strings are TOML strings)."""
    sections: dict[str, dict[str, object]] = {
        "ips": {"url": ips_url, "user": DEFAULT_USER, "password": DEFAULT_PASSWORD},
        "poll": {"interval": POLL_INTERVAL, "finish_confirm_polls": 1, "stall_after": 0},
        "notify": {"events": ["started", "finished"], "outcome_grace": 2.0},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "from": SENDER, "timeout": 30.0},
        "store": dict(store),
        "http": {"listen": f"127.0.0.1:{http_port}"},
        "log": {"level": "warning"},
    }
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(password: str) -> dict[str, str]:
    """This environment without the variables that would change what a daemon does."""
    dropped = ("NOTIFIER_", "NOTIFY_", "WATCHDOG_", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return env | ({"NOTIFIER_STORE_PASSWORD": password} if password else {})


class Replica:
    """One `notifier run` process, its log file and its HTTP port."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, port: int) -> None:
        self.process, self.log, self.port = process, log, port

    @classmethod
    async def start(cls, config: Path, env: Mapping[str, str], port: int) -> Replica:
        log = config.with_suffix(".log")
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "notifier", "run", "-c", str(config), cwd=ROOT, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip
        return cls(process, log, port)

    async def get(self, path: str) -> tuple[int, str]:
        """(status, text) of GET path; (0, reason) while nothing answers."""
        if self.process.returncode is not None:
            raise RuntimeError(f"`notifier run` exited: {self.log.read_text()[-2000:]}")
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{self.port}{path}") as response,
            ):
                return response.status, await response.text()
        except aiohttp.ClientError as exc:
            return 0, str(exc)

    async def metric(self, pattern: re.Pattern[str]) -> float:
        _, text = await self.get("/metrics")
        found = pattern.search(text)
        return float(found.group(1)) if found else 0.0

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 30)


async def wait_for(probe: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
