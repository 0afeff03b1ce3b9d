"""An SMTP sink for the benchmarks: aiosmtpd in a process of its own, on a loopback port.

Its own process, so that accepting mail does not take CPU or GIL time from the sender being
measured, and the daemon and its raw-aiosmtplib peer meet the same server. It counts the
messages accepted and the (system-wide monotonic) time of the last one; with `record=True`
it also reports, per message, the job handle and event headers, the Message-ID (and a
digest's count of jobs listed) and the time it was accepted.
Never listens on anything but 127.0.0.1; keeps nothing it receives.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import re
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
_HANDLE = re.compile(rb"^X-IPS-Job-Handle: ?(.*?)\r?$", re.MULTILINE)
_EVENT = re.compile(rb"^X-IPS-Job-Event: ?(.*?)\r?$", re.MULTILINE)
_LISTED = re.compile(rb"^X-IPS-Digest-Count: ?(\d+)\r?$", re.MULTILINE)
_MESSAGE_ID = re.compile(rb"^Message-ID: ?(.*?)\r?$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Accepted:
    """One message the sink accepted: its X-IPS-Job-Handle, X-IPS-Job-Event, when, for
    a digest its X-IPS-Digest-Count (else 0), and its Message-ID."""

    handle: str
    event: str
    at: float  # time.monotonic(): CLOCK_MONOTONIC, comparable across processes on Linux
    listed: int = 0
    message_id: str = ""


class _Handler:
    def __init__(self, count: Any, last: Any, records: Any) -> None:
        self._count = count
        self._last = last
        self._records = records

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = time.monotonic()
        if self._records is not None:
            data = envelope.original_content or b""
            handle, event = _HANDLE.search(data), _EVENT.search(data)
            listed, message_id = _LISTED.search(data), _MESSAGE_ID.search(data)
            self._records.put(
                (
                    handle.group(1).decode() if handle else "",
                    event.group(1).decode() if event else "",
                    now,
                    int(listed.group(1)) if listed else 0,
                    message_id.group(1).decode() if message_id else "",
                )
            )
        self._last.value = now
        self._count.value += 1
        return "250 2.0.0 Ok: queued"


def _serve(port: Any, count: Any, last: Any, records: Any, ready: Any) -> None:
    asyncio.run(_main(port, count, last, records, ready))


async def _main(port: Any, count: Any, last: Any, records: Any, ready: Any) -> None:
    handler = _Handler(count, last, records)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench-sink.localhost", enable_SMTPUTF8=True), HOST, 0
    )
    port.value = server.sockets[0].getsockname()[1]
    ready.set()
    await asyncio.Event().wait()  # until the parent terminates this process


class SinkProcess:
    """`with SinkProcess() as sink:` -> `sink.port`, `sink.count`, `sink.last_at`."""

    def __init__(self, *, record: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self._port: Synchronized[int] = context.Value("i", 0)
        self._count: Synchronized[int] = context.Value("q", 0)
        self._last: Synchronized[float] = context.Value("d", 0.0)
        self._records: Any = context.Queue() if record else None
        self._ready = context.Event()
        self._process = context.Process(
            target=_serve,
            args=(self._port, self._count, self._last, self._records, self._ready),
            daemon=True,
        )
        self.host = HOST

    def __enter__(self) -> SinkProcess:
        self._process.start()
        deadline = time.monotonic() + 30
        while not self._ready.wait(0.05):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.terminate()
                raise RuntimeError("the SMTP sink process did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(10)
        if self._records is not None:
            self._records.close()
            self._records.join_thread()

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    @property
    def port(self) -> int:
        return int(self._port.value)

    @property
    def count(self) -> int:
        return int(self._count.value)

    @property
    def last_at(self) -> float:
        return float(self._last.value)

    def accepted(self) -> list[Accepted]:
        """The messages recorded since the last call (record=True only)."""
        found: list[Accepted] = []
        while True:
            try:
                handle, event, at, listed, message_id = self._records.get_nowait()
            except queue.Empty:
                return found
            found.append(Accepted(handle, event, at, listed, message_id))

    async def wait_for(self, count: int, within: float) -> None:
        """Until `count` messages have been accepted in all; TimeoutError after `within` s."""
        deadline = time.monotonic() + within
        while self.count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count} of {count} messages arrived in {within:.0f} s")
            await asyncio.sleep(0.005)
