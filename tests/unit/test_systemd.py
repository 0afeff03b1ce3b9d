"""sd_notify over a real AF_UNIX datagram socket, as systemd would receive it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier import systemd


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(5)
    with sock:
        yield sock, {"NOTIFY_SOCKET": str(path)}


def received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_ready_status_watchdog_stopping(listener: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = listener
    assert systemd.ready("polling IPS every 30 s", environ=env)
    assert received(sock) == ["READY=1", "STATUS=polling IPS every 30 s"]
    assert systemd.status("3 active jobs,\n2 pending emails", environ=env)
    assert received(sock) == ["STATUS=3 active jobs, 2 pending emails"]
    assert systemd.watchdog(environ=env)
    assert received(sock) == ["WATCHDOG=1"]
    assert systemd.extend_timeout(2.5, environ=env)
    assert received(sock) == ["EXTEND_TIMEOUT_USEC=2500000"]
    assert systemd.stopping("finishing sends", environ=env)
    assert received(sock) == ["STOPPING=1", "STATUS=finishing sends"]


def test_abstract_socket() -> None:
    name = f"notifier-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert systemd.ready(environ={"NOTIFY_SOCKET": "@" + name})
        assert received(sock) == ["READY=1"]


def test_without_notify_socket_nothing_is_sent() -> None:
    assert systemd.ready(environ={}) is False
    assert systemd.watchdog(environ={"NOTIFY_SOCKET": ""}) is False


def test_a_missing_socket_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}
    assert systemd.watchdog(environ=env) is False
    assert "could not notify systemd" in caplog.text


def test_a_non_unix_address_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    assert systemd.ready(environ={"NOTIFY_SOCKET": "vsock:2:1234"}) is False
    assert "not a unix socket path" in caplog.text


def test_watchdog_interval() -> None:
    assert systemd.watchdog_interval({}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 60.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1234"}
    assert systemd.watchdog_interval(mine, pid=1234) == 30.0
    assert systemd.watchdog_interval(mine, pid=999) is None
    own = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    assert systemd.watchdog_interval(own) == 1.0
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "0"}) is None
