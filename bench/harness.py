"""What the in-process benchmarks share: a fast configuration and a daemon running in this loop.

Owns the benchmark configuration (simulator credentials, no HTTP endpoint, quiet logs) and the
start and clean stop of `notifier.daemon.Daemon` around a block. Never measures anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from notifier.config import (
    Config,
    HttpConfig,
    IpsConfig,
    LogConfig,
    LogLevel,
    NotifyConfig,
    PollConfig,
    Secret,
    SmtpConfig,
    StoreConfig,
)
from notifier.core.events import EventKind
from notifier.daemon import Daemon
from notifier.logs import setup_logging
from notifier.sim import DEFAULT_PASSWORD, DEFAULT_USER, Simulator
from notifier.wiring import Parts, open_parts

SENDER = "IPS Jobs <ips-jobs@example.com>"
MAX_CONNECTIONS = SmtpConfig(sender=SENDER).max_connections


def bench_config(
    ips_url: str, smtp_port: int, store: Path, *, interval: float, grace: float = 2.0
) -> Config:
    """Started and finished emails; a finished job is confirmed by the first poll without it."""
    return Config(
        ips=IpsConfig(url=ips_url, user=DEFAULT_USER, password=Secret(DEFAULT_PASSWORD)),
        smtp=SmtpConfig(sender=SENDER, host="127.0.0.1", port=smtp_port, timeout=30.0),
        poll=PollConfig(interval=interval, finish_confirm_polls=1, stall_after=0.0),
        notify=NotifyConfig(events=(EventKind.STARTED, EventKind.FINISHED), outcome_grace=grace),
        store=StoreConfig(path=store),
        http=HttpConfig(listen=""),
        log=LogConfig(level=LogLevel.WARNING),
    )


@asynccontextmanager
async def running_daemon(config: Config) -> AsyncIterator[Parts]:
    """The daemon polling and delivering in this event loop until the block ends."""
    setup_logging("warning")
    async with open_parts(config) as parts:
        daemon = Daemon(parts)
        task = asyncio.create_task(daemon.run(), name="bench-daemon")
        try:
            yield parts
        finally:
            daemon.stop.set()
            await task


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.005)


class PollTimes:
    """When the simulator served each getActiveJobs request: (began, answered), monotonic.

    The handler reads the simulated world after its last await, so a change made in this loop
    before `answered` is in that answer and a change made after it is not: the poll that first
    saw a change at `t` is the first one answered after `t`.
    """

    def __init__(self, sim: Simulator) -> None:
        self.served: list[tuple[float, float]] = []
        original = sim.service.handle

        async def handle(request: web.Request) -> web.StreamResponse:
            began = time.monotonic()
            body = await request.read()  # cached: the real handler reads it again
            response = await original(request)
            if b"getActiveJobs" in body:
                self.served.append((began, time.monotonic()))
            return response

        sim.service.handle = handle  # type: ignore[method-assign]  # before sim.start()

    def first_after(self, moment: float) -> float | None:
        """When the first poll answered after `moment` began; None if there is none yet."""
        return next((began for began, answered in self.served if answered > moment), None)
