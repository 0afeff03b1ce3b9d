"""The headers that identify and sign a webhook's body.

`X-Notifier-Event-Id` always (the event's or digest's id: receivers deduplicate on it);
with a secret, `X-Notifier-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. Receivers
recompute it over the bytes they got, before parsing them (see `verify`).
"""

from __future__ import annotations

import hashlib
import hmac

EVENT_ID_HEADER = "X-Notifier-Event-Id"
SIGNATURE_HEADER = "X-Notifier-Signature"
SIGNATURE_PREFIX = "sha256="
CONTENT_TYPE = "application/json; charset=utf-8"
USER_AGENT = "ips-job-notifier"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: the HMAC-SHA256 of `body` under `secret` (UTF-8)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def request_headers(event_id: str, body: bytes, secret: str = "") -> dict[str, str]:
    """Every header of one POST of `body`."""
    headers = {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return headers


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant-time)."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip())
