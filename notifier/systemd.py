"""The systemd notify protocol (READY, STATUS, WATCHDOG, STOPPING) without libsystemd.

Owns the datagrams sent to `$NOTIFY_SOCKET`. Never raises to the caller and never blocks:
a daemon outside systemd (no `$NOTIFY_SOCKET`) or a full socket must not stop the work, so a
failed send is logged and reported as False.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(*lines: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send `lines` ("READY=1", "STATUS=...") as one datagram; False when not sent."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    elif not address.startswith("/"):
        log.warning("NOTIFY_SOCKET %r is not a unix socket path; not notifying systemd", address)
        return False
    payload = "\n".join(lines).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.sendto(payload, address)
    except OSError as exc:
        log.warning("could not notify systemd at %r: %s", environ["NOTIFY_SOCKET"], exc)
        return False
    return True


def ready(status_text: str = "", environ: Mapping[str, str] = os.environ) -> bool:
    """Startup is complete: systemd marks the unit active."""
    lines = ["READY=1"] + ([_status(status_text)] if status_text else [])
    return notify(*lines, environ=environ)


def status(text: str, environ: Mapping[str, str] = os.environ) -> bool:
    """One line shown by `systemctl status`."""
    return notify(_status(text), environ=environ)


def watchdog(environ: Mapping[str, str] = os.environ) -> bool:
    """Alive: resets the watchdog timer (call at half of `watchdog_interval`)."""
    return notify("WATCHDOG=1", environ=environ)


def stopping(status_text: str = "", environ: Mapping[str, str] = os.environ) -> bool:
    """Shutdown has begun."""
    lines = ["STOPPING=1"] + ([_status(status_text)] if status_text else [])
    return notify(*lines, environ=environ)


def extend_timeout(seconds: float, environ: Mapping[str, str] = os.environ) -> bool:
    """Ask for `seconds` more before systemd gives up on a start or stop in progress."""
    return notify(f"EXTEND_TIMEOUT_USEC={round(seconds * 1_000_000)}", environ=environ)


def watchdog_interval(
    environ: Mapping[str, str] = os.environ, pid: int | None = None
) -> float | None:
    """Seconds of `WatchdogSec=` when the watchdog is meant for this process, else None."""
    usec_text = environ.get("WATCHDOG_USEC", "")
    if not usec_text:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        usec = int(usec_text)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec_text)
        return None
    return usec / 1_000_000 if usec > 0 else None


def _status(text: str) -> str:
    # One notify variable per line: a newline in the text would start a new variable.
    return "STATUS=" + " ".join(text.split())
