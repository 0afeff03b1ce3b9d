"""A real webhook receiver (aiohttp.web on loopback) for tests: records every POST and
answers each with the next scripted answer (then 200), or hangs; each answer may be slowed."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

from aiohttp import web

HANG = -1
"""A scripted status that makes the receiver never answer (until it stops)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """`url = await receiver.start()`; `receiver.answers.append(Answer(503))`; `.received`."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.received: list[Received] = []
        self.delay = 0.0
        """Seconds each answer takes (a slow receiver, so that POSTs are in flight)."""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        """scheme://host:port once started."""

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = self._runner.addresses[0][1]
        scheme = "https" if ssl_context else "http"
        self.base_url = f"{scheme}://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(
            Received(request.path, request.query_string, dict(request.headers), body)
        )
        answer = self.answers.pop(0) if self.answers else Answer()
        if self.delay:
            await asyncio.sleep(self.delay)
        if answer.status == HANG:
            await self._release.wait()
            return web.Response(status=503)
        return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
