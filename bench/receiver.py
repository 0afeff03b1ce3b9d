"""A webhook receiver for the benchmarks: aiohttp.web in a process of its own, on loopback.

Its own process, so that receiving takes no CPU or GIL time from the sender being measured,
and the daemon and its raw-aiohttp peer post to the same server. Answers every POST 204 and
counts them, with the (system-wide monotonic) times of the first (since a restart of that
mark) and of the last one. Never listens on
anything but 127.0.0.1; keeps nothing it receives.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"


def _serve(port: Any, count: Any, first: Any, last: Any, ready: Any) -> None:
    asyncio.run(_main(port, count, first, last, ready))


async def _main(port: Any, count: Any, first: Any, last: Any, ready: Any) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        last.value = time.monotonic()
        if not first.value:
            first.value = last.value
        count.value += 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    port.value = runner.addresses[0][1]
    ready.set()
    await asyncio.Event().wait()  # until the parent terminates this process


class ReceiverProcess:
    """`with ReceiverProcess() as hook:` -> `hook.url`, `hook.count`, `hook.last_at`."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._port: Synchronized[int] = context.Value("i", 0)
        self._count: Synchronized[int] = context.Value("q", 0)
        self._first: Synchronized[float] = context.Value("d", 0.0)
        self._last: Synchronized[float] = context.Value("d", 0.0)
        self._ready = context.Event()
        self._process = context.Process(
            target=_serve,
            args=(self._port, self._count, self._first, self._last, self._ready),
            daemon=True,
        )

    def __enter__(self) -> ReceiverProcess:
        self._process.start()
        deadline = time.monotonic() + 30
        while not self._ready.wait(0.05):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.terminate()
                raise RuntimeError("the webhook receiver process did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(10)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port.value}/hooks/bench"

    @property
    def count(self) -> int:
        return int(self._count.value)

    @property
    def last_at(self) -> float:
        return float(self._last.value)

    @property
    def first_at(self) -> float:
        """When the first POST since `restart_first()` arrived (0.0: none yet)."""
        return float(self._first.value)

    def restart_first(self) -> None:
        self._first.value = 0.0

    async def wait_for(self, count: int, within: float) -> None:
        deadline = time.monotonic() + within
        while self.count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count} of {count} POSTs arrived in {within:.0f} s")
            await asyncio.sleep(0.005)
