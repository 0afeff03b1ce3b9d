"""A network partition on loopback: a TCP forwarder that can black-hole and heal, and an HTTP
tap that records which process asked IPS what, and when.

`Partition` stands between one process and its server (PostgreSQL). `cut()` stops the bytes
both ways without a FIN or RST: open connections hang, new ones are accepted and then hang
too, as when a network drops every packet (a closed port, which refuses at once, is not a
partition). `heal()` lets the bytes flow again: what was held is delivered, and closes that
happened meanwhile arrive then, as they would once the network is back. `watch(text)` follows
one SQL statement in what the clients send, from the start; `cut_after(statement)` cuts the
moment a client sends it next (the server gets it, its answer is held): a cut in the middle
of a transaction, on purpose.

The forwarder's own sockets keep answering TCP (acknowledgements, keepalive probes), so the
client's TCP keepalives and `tcp_user_timeout` never fire: whatever ends a session across the
cut is the server's or the application's own timing, never TCP's.

`IpsTap` stands in front of the IPS simulator for one process and keeps the arrival time of
each request it forwards. Both listen on 127.0.0.1 only and never sleep to synchronise.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from yarl import URL

CHUNK = 65536
EXECUTE = b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00"
"""PostgreSQL's Execute message for the unnamed portal, all rows: how a driver runs a query."""


class Partition:
    """A loopback TCP forwarder to `target_host:target_port`; `start()` before use."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0
        """Connections accepted so far (held ones included)."""
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._watched: list[Statement] = []
        self._cut_after: Statement | None = None
        self._stopping = False
        self.cut_at: float | None = None
        """When (time.monotonic()) the last cut began."""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.BaseTransport] = set()

    @property
    def is_cut(self) -> bool:
        return not self._flowing.is_set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection (the test is over)."""
        if self._server is not None:
            self._server.close()
        self._stopping = True
        for transport in list(self._transports):
            transport.abort()
        self._flowing.set()  # every held pipe wakes, finds its socket gone and ends
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def cut(self) -> None:
        """From now on no byte passes, either way; nothing is closed."""
        self._cut_after = None
        self.cut_at = time.monotonic()
        self._flowing.clear()

    def watch(self, marker: bytes) -> Statement:
        """The statement whose text contains `marker`, followed in every client's bytes from
        now on (start watching before the clients connect: psycopg prepares statements)."""
        statement = Statement(marker)
        self._watched.append(statement)
        return statement

    def cut_after(self, statement: Statement) -> None:
        """Cut once a client sends `statement` (forwarded to the server, the reply held)."""
        self._cut_after = statement

    def heal(self) -> None:
        """Bytes flow again, those held first."""
        self._cut_after = None
        self._flowing.set()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._transports.add(writer.transport)
        self.connections += 1
        number = self.connections
        try:
            await self._flowing.wait()  # accepted by the kernel, then nothing: a hang
            if self._stopping:
                writer.transport.abort()
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                writer.transport.abort()
                return
            self._transports.add(up_writer.transport)
            await asyncio.gather(
                self._pipe(reader, up_writer, upstream=number),
                self._pipe(up_reader, writer),
            )
        finally:
            self._tasks.discard(task)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: int = 0
    ) -> None:
        """Bytes from `reader` to `writer` while not cut; `upstream`: the number of the client
        connection whose bytes these are (0: the server's answers)."""
        try:
            while True:
                data = await reader.read(CHUNK)
                await self._flowing.wait()
                if not data or self._stopping:
                    break
                writer.write(data)
                sent = [st for st in self._watched if upstream and st.seen(upstream, data)]
                if self._cut_after is not None and self._cut_after in sent:
                    self.cut()  # before any reply can be read: the server has the bytes
                await writer.drain()
            writer.close()  # the other side's FIN, passed on once the bytes flow
        except ConnectionError:
            await self._flowing.wait()
            writer.transport.abort()


@dataclass(slots=True)
class Statement:
    """Recognises one SQL statement run by a client of PostgreSQL: by its text (`marker`, in a
    Parse message), or, once the driver has prepared it (psycopg does after a few runs on one
    connection), by the name it was prepared under, in a Bind message; with an Execute."""

    marker: bytes
    names: dict[int, set[bytes]] = field(default_factory=dict)
    """The names it was prepared under, by connection (each connection names its own)."""

    def seen(self, connection: int, data: bytes) -> bool:
        """Whether `data`, sent on `connection`, runs the statement; learns its names."""
        parsed = re.compile(rb"P.{4}([^\x00]*)\x00[^\x00]*?" + re.escape(self.marker), re.DOTALL)
        found = [match.group(1) for match in parsed.finditer(data)]
        names = self.names.setdefault(connection, set())
        names.update(name for name in found if name)
        bound = (re.compile(rb"B.{4}\x00" + re.escape(n) + rb"\x00", re.DOTALL) for n in names)
        # Run only with an Execute: psycopg prepares a statement in a round trip of its own.
        return EXECUTE in data and (bool(found) or any(pattern.search(data) for pattern in bound))


@dataclass(frozen=True, slots=True)
class IpsRequest:
    """One request that reached the tap: when (time.monotonic()) and which operation."""

    at: float
    operation: str


OPERATIONS = ("getActiveJobs", "getJobLogs")


class IpsTap:
    """An HTTP forwarder to the simulator's IpsApiService for ONE process: its own URL, and
    the record of every request that came through it."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream_url = upstream_url
        self.url = ""
        self.requests: list[IpsRequest] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def polls(self) -> list[float]:
        """When each getActiveJobs request arrived."""
        return [r.at for r in self.requests if r.operation == "getActiveJobs"]

    async def start(self) -> str:
        path = URL(self.upstream_url).path
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post(path, self._forward)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{path}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.read()
        operation = next((op for op in OPERATIONS if op.encode() in body), "other")
        self.requests.append(IpsRequest(arrived, operation))
        assert self._session is not None
        passed = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("content-type", "soapaction", "authorization", "accept-encoding")
        }
        async with self._session.post(self.upstream_url, data=body, headers=passed) as answer:
            content = await answer.read()
            kept = {
                name: value
                for name, value in answer.headers.items()
                if name.lower() in ("content-type", "content-encoding")
            }
            return web.Response(status=answer.status, body=content, headers=kept)
