"""Whether a webhook's host can be reached, without posting anything to it.

Webhooks have no standard "ping": a HEAD or an empty POST is, to Slack, Teams or a
receiver of our JSON, a malformed message (or worse, a message). So `check-config
--connect` only resolves the host, opens a TCP connection to its port and, for https,
completes the TLS handshake with the certificate verified as the sender verifies it (the
system's trust store, or the target's `ca_file`); then it closes the connection without
sending a byte. It proves the network path and the certificate, not that the receiver
accepts our messages. Never shows the URL's path, query or user info, nor the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

from notifier.webhook.errors import WebhookRetryLater
from notifier.webhook.target import WebhookTarget

_DEFAULT_PORTS = {"https": 443, "http": 80}


async def reach(target: WebhookTarget) -> str:
    """What was proven ("TCP and TLS to example.com:443, certificate verified"), or
    `WebhookRetryLater` with a reason that is safe to print."""
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    tls = _tls(target) if parts.scheme == "https" else None
    try:
        async with asyncio.timeout(target.timeout):
            _, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host if tls else None
            )
    except TimeoutError:
        raise _failed(target, f"no connection within {target.timeout:g} s") from None
    except ssl.SSLCertVerificationError as exc:
        raise _failed(target, f"its certificate is not trusted ({exc.verify_message})") from None
    except (OSError, ssl.SSLError) as exc:
        raise _failed(target, f"{exc.__class__.__name__}: {exc.strerror or exc}") from None
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):  # closing is not what was checked
        await writer.wait_closed()
    if tls is None:
        return f"TCP to {host}:{port} (plain http: not encrypted)"
    return f"TCP and TLS to {host}:{port}, certificate verified"


def _tls(target: WebhookTarget) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=target.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise _failed(
            target, f"its ca_file cannot be read as a PEM bundle ({exc.__class__.__name__})"
        ) from None


def _failed(target: WebhookTarget, why: str) -> WebhookRetryLater:
    return WebhookRetryLater(f"webhook {target.name!r} at {target.where}: {why}", outage=True)
