"""The reliability harness: a real `notifier run` process against the IPS simulator and an SMTP
sink that live in the test's event loop.

Owns the daemon's configuration file, its life cycle (start, SIGKILL, SIGTERM, restart on the
same store), the collection of its stderr, and waiting on conditions with deadlines. Every
daemon's log is checked for the passwords configured here when the test ends: no test may see
one. Never sleeps as synchronisation; never listens beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from notifier.sim import Pacing, Simulator
from tests.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
IPS_USER = "reliability@example.com"
IPS_PASSWORD = "ips-Pw-7rQx!reliability"  # distinctive: grepped for in every daemon log
SMTP_PASSWORD = "smtp-Pw-K9zL!reliability"
PASSWORDS = (IPS_PASSWORD, SMTP_PASSWORD)
COMPANY = "47"


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> None:
    """Poll `condition` until it holds; fail after `within` seconds, saying what was awaited."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string, once DEL is escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def render_config(sections: dict[str, Any]) -> str:
    """TOML text: a section's keys as a table, a list of them as an array of tables
    (`"route": [{...}, {...}]` is two [[route]] tables)."""
    lines: list[str] = []
    for section, keys in sections.items():
        for table in keys if isinstance(keys, list) else [keys]:
            lines.append(f"[[{section}]]" if isinstance(keys, list) else f"[{section}]")
            lines.extend(f"{name} = {toml_value(value)}" for name, value in table.items())
            lines.append("")
    return "\n".join(lines)


def base_config(
    ips_url: str, smtp_port: int, store: Path, **overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """A fast-polling configuration; `overrides` maps a section to the keys it replaces."""
    sections: dict[str, dict[str, Any]] = {
        "ips": {
            "url": ips_url,
            "user": IPS_USER,
            "password": IPS_PASSWORD,
            "companies": [COMPANY],
            "timeout": 2,
        },
        "poll": {
            "interval": 0.2,
            "finish_confirm_polls": 1,
            "stall_after": 0,
            "max_backoff": 1,
        },
        "notify": {
            "events": ["finished"],
            "default_locale": "en",
            "outcome_grace": 1,
        },
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "from": "IPS Jobs <ips-jobs@example.com>",
            "timeout": 5,
            "max_connections": 4,
            "max_backoff": 2,
        },
        "store": {"path": str(store)},
        "http": {"listen": "127.0.0.1:0"},
        "log": {"level": "info"},
    }
    for section, keys in overrides.items():
        sections.setdefault(section, {}).update(keys)
    return sections


@dataclass(slots=True)
class DaemonProcess:
    """One `notifier run` child. Its stderr goes to a file that outlives restarts."""

    config: Path
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    http_port: int | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None
        self.starts += 1
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "notifier",
                "run",
                "-c",
                str(self.config),
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                env={**os.environ, **self.env},
            )
        await wait_until(
            lambda: self._port_since(offset) is not None or self.exited(),
            30,
            "the daemon to serve HTTP",
        )
        assert not self.exited(), f"the daemon exited at start:\n{self.log()}"
        self.http_port = self._port_since(offset)

    def _port_since(self, offset: int) -> int | None:
        text = self.log_path.read_bytes()[offset:].decode(errors="replace")
        found = re.search(r"health and metrics on http://[^:]+:(\d+)/", text)
        return int(found.group(1)) if found else None

    def exited(self) -> bool:
        return self.process is None or self.process.returncode is not None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, within: float = 30) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), within)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def get(self, path: str) -> tuple[int, str]:
        assert self.http_port is not None
        url = f"http://127.0.0.1:{self.http_port}{path}"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response,
        ):
            return response.status, await response.text()


@dataclass(slots=True)
class Rig:
    """Simulator, sink and daemon of one test, with the configuration they share."""

    tmp: Path
    sim: Simulator
    sink: SmtpSink
    store: Path
    daemons: list[DaemonProcess] = field(default_factory=list)

    def config(self, **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return base_config(self.sim.url, self.sink.port, self.store, **overrides)

    def daemon(self, sections: dict[str, Any] | None = None) -> DaemonProcess:
        """A daemon (not started) with this configuration (the rig's default if None)."""
        number = len(self.daemons)
        path = self.tmp / f"notifier-{number}.toml"
        path.write_text(render_config(sections or self.config()))
        daemon = DaemonProcess(path, self.tmp / f"daemon-{number}.log")
        self.daemons.append(daemon)
        return daemon

    async def started(self, sections: dict[str, Any] | None = None) -> DaemonProcess:
        daemon = self.daemon(sections)
        await daemon.start()
        return daemon

    def add_running_job(self, n: int, **fields: Any) -> tuple[str, str]:
        values = {
            "company_handle": COMPANY,
            "name": f"Job {n}",
            "state": "Running",
            "submit_user_email": f"user{n}@example.com",
            "locale": "en-US",
        }
        values.update(fields)
        job = self.sim.add_job(**values)
        return job.company_handle, job.job_handle


LOGS: list[Path] = []
"""Every daemon log of this session, for the final password check."""


def assert_no_password(path: Path) -> None:
    text = path.read_text(errors="replace") if path.exists() else ""
    for secret in PASSWORDS:
        assert secret not in text, f"a configured password appears in {path}"


@asynccontextmanager
async def open_rig(tmp_path: Path, sim: Simulator, sink: SmtpSink) -> AsyncIterator[Rig]:
    """A rig around a started simulator and sink: on the way out its daemons are killed,
    the servers stopped, and every daemon log searched for the configured passwords."""
    rig = Rig(tmp_path, sim, sink, tmp_path / "state" / "notifier.sqlite3")
    rig.store.parent.mkdir()
    try:
        yield rig
    finally:
        for daemon in rig.daemons:
            if not daemon.exited():
                await daemon.kill()
        sink.stop()
        await sim.stop()
        for daemon in rig.daemons:
            LOGS.append(daemon.log_path)
            assert_no_password(daemon.log_path)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = Simulator(user=IPS_USER, password=IPS_PASSWORD, pacing=Pacing(jobs=0))
    await sim.start()
    sink = SmtpSink()
    sink.start()
    async with open_rig(tmp_path, sim, sink) as opened:
        yield opened


@pytest.fixture(scope="session", autouse=True)
def no_password_in_any_log() -> Iterator[None]:
    """After the whole run: not one daemon log holds a configured password."""
    yield
    for path in LOGS:
        assert_no_password(path)


FIGURES: list[str] = []
"""Measured figures of this run, printed at the end so `make soak` shows them."""


def record_figure(line: str) -> None:
    FIGURES.append(line)
    print(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES and not LOGS:
        return
    terminalreporter.section("reliability figures")
    for line in FIGURES:
        terminalreporter.write_line(line)
    if LOGS:
        leaked = [
            p
            for p in LOGS
            if p.exists() and any(s in p.read_text(errors="replace") for s in PASSWORDS)
        ]
        size = sum(p.stat().st_size for p in LOGS if p.exists())
        terminalreporter.write_line(
            f"passwords: {len(LOGS)} daemon logs ({size / 1024:.0f} KiB) searched for the "
            f"configured IPS and SMTP passwords: found in {len(leaked)}"
        )


async def metric(daemon: DaemonProcess, name: str) -> float | None:
    """The value of one Prometheus sample on the daemon's /metrics (`name`, or `name{labels}`
    as the client writes them), None if absent."""
    status, text = await daemon.get("/metrics")
    assert status == 200
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def owed(rig: Rig) -> int:
    """Deliveries still pending or held in the daemon's store (read beside it, read-only)."""
    with sqlite3.connect(f"file:{rig.store}?mode=ro", uri=True, timeout=5) as conn:
        sql = "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'held')"
        return int(conn.execute(sql).fetchone()[0])


class TcpGate:
    """A loopback TCP forwarder that can go down and come back on the same port.

    Used for outages of the SMTP server: `close()` stops listening and cuts every open
    connection, as a crashed server does; `open()` listens again and forwards to `target`.
    (Restarting the SMTP sink itself races with a client that reconnects at once.)
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        assert self._server is None
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers.difference_update((writer, up_writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
