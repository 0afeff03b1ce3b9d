"""What operators and systemd see of a running daemon: health, readiness, metrics, sd_notify."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from notifier.sim import Fault, FaultKind
from tests.builders import METRIC_NAMES
from tests.e2e.conftest import Notifier, World, wait_for, wait_until


@dataclass(slots=True)
class Endpoint:
    base: str
    session: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.text()

    async def sample(self, name_and_labels: str) -> float | None:
        """The value of one sample of /metrics, None while it is absent."""
        _, text = await self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name_and_labels + " "):
                return float(line.split()[-1])
        return None


@contextlib.asynccontextmanager
async def endpoint(base: str) -> AsyncIterator[Endpoint]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield Endpoint(base, session)


async def test_readiness_follows_ips_refusing_the_credentials_and_metrics_count_sent_emails(
    world: World, notifier: Notifier
) -> None:
    world.sim.inject(Fault(FaultKind.BAD_CREDENTIALS), None)
    daemon = await notifier.start(world.config())
    async with endpoint(await daemon.http_base()) as http:
        assert await http.get("/healthz") == (200, "ok\n")

        async def refused() -> bool:
            status, reason = await http.get("/readyz")
            return status == 503 and "authenticationFault 10001" in reason

        await wait_for(refused, "/readyz to answer 503 naming the authentication fault")
        await daemon.wait_for_log("IPS refuses the poll")

        world.sim.clear_faults()

        async def ready() -> bool:
            return (await http.get("/readyz"))[0] == 200

        await wait_for(ready, "/readyz to answer 200 once IPS accepts the credentials")
        await world.polls_pass(2)
        world.add_job("Measured", email="mo@example.com")
        world.add_job("Counted", email="cy@example.com")
        await world.wait_for_mails(2)

        async def two_sent() -> bool:
            return await http.sample('notifier_emails_total{result="sent"}') == 2.0

        await wait_for(two_sent, 'notifier_emails_total{result="sent"} to reach 2')
        _, metrics = await http.get("/metrics")
        for name in METRIC_NAMES:
            assert f"\n{name}" in metrics, f"{name} is missing from /metrics"
        assert (await http.sample('notifier_events_total{kind="started"}')) == 2.0
        assert (await http.sample('notifier_polls_total{result="auth_error"}') or 0) >= 1
        assert (await http.sample("notifier_active_jobs")) == 2.0
    assert await daemon.stop() == 0


@dataclass(slots=True)
class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's, with what it received."""

    path: Path
    sock: socket.socket
    datagrams: list[str] = field(default_factory=list)

    async def receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 4096)
            self.datagrams.append(data.decode())

    def seen(self, line: str) -> bool:
        return any(line in datagram.splitlines() for datagram in self.datagrams)


@pytest.fixture
async def notify_socket() -> AsyncIterator[NotifySocket]:
    with _short_directory() as directory:
        path = directory / "notify"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            sock.setblocking(False)
            listener = NotifySocket(path, sock)
            reader = asyncio.create_task(listener.receive())
            try:
                yield listener
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader


@contextlib.contextmanager
def _short_directory() -> Iterator[Path]:
    # A unix socket path must stay under ~108 bytes: pytest's tmp_path may be longer.
    with tempfile.TemporaryDirectory(prefix="ntf-") as name:
        yield Path(name)


async def test_systemd_hears_ready_status_watchdog_and_stopping(
    world: World, notifier: Notifier, notify_socket: NotifySocket
) -> None:
    env = {"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "1000000"}
    daemon = await notifier.start(world.config(http={"listen": ""}), env=env)

    await wait_until(lambda: notify_socket.seen("READY=1"), "READY=1")
    ready = next(d for d in notify_socket.datagrams if "READY=1" in d.splitlines())
    assert any(line.startswith("STATUS=companies: 1;") for line in ready.splitlines()), ready
    await wait_until(lambda: notify_socket.seen("WATCHDOG=1"), "WATCHDOG=1")
    pings = sum(d == "WATCHDOG=1" for d in notify_socket.datagrams)
    await wait_until(
        lambda: sum(d == "WATCHDOG=1" for d in notify_socket.datagrams) > pings,
        "a second WATCHDOG=1: the pings keep coming",
    )
    assert await daemon.stop() == 0
    await wait_until(lambda: notify_socket.seen("STOPPING=1"), "STOPPING=1")
