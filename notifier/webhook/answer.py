"""What a webhook's answer means: delivered, retry later (and when), or give up (and why).

Pure: from the status, the Retry-After header, a prefix of the body and the clock's reading.
2xx is delivered; 429 and 5xx are retried (Retry-After honoured, in seconds or as an
HTTP-date); 3xx (redirects are not followed: a moved webhook is a configuration to fix) and
every other 4xx give up with the status and a short, cleaned excerpt of the body. One
quirk is honoured: Teams' Office 365 connectors answer a throttled post with 200 and
"Microsoft Teams endpoint returned HTTP error 429" in the body, not with a 429
(MicrosoftDocs/msteams-docs, connectors-using.md, "Rate limiting for connectors"); that is
retried like a 429. Never returns text that holds the target's URL path, query or secret.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

from notifier.webhook.errors import WebhookGiveUp, WebhookRetryLater
from notifier.webhook.target import WebhookFormat, WebhookTarget

EXCERPT_LIMIT = 200
MAX_RETRY_AFTER = 86_400.0
"""A Retry-After further away than a day is taken as a day: the message is not forgotten."""
TOO_MANY_REQUESTS = 429
TEAMS_THROTTLED = b"returned HTTP error 429"
_SPACES = re.compile(r"\s+")
_SECRET_PART_LENGTH = 6  # shorter path segments ("hooks", "v1") are not worth hiding


def check(
    target: WebhookTarget,
    status: int,
    retry_after: str | None,
    body: bytes,
    now: datetime,
) -> str:
    """The receipt ("HTTP 204") of a delivered message; raises for every other answer."""
    if 200 <= status < 300:
        if not _teams_throttled(target, body):
            return f"HTTP {status}"
        raise WebhookRetryLater(
            f"webhook {target.name!r} at {target.where} answered HTTP {status} but throttled "
            f"the message ({excerpt(body, target)}); retrying later",
            status=TOO_MANY_REQUESTS,
        )
    said = excerpt(body, target)
    detail = f"HTTP {status}" + (f": {said}" if said else "")
    if status == TOO_MANY_REQUESTS or status >= 500:
        delay = retry_after_seconds(retry_after, now)
        raise WebhookRetryLater(
            f"{detail}: webhook {target.name!r} at {target.where}; retrying later",
            status=status,
            retry_after=delay,
            outage=status >= 500,
        )
    if 300 <= status < 400:
        raise WebhookGiveUp(
            f"{detail} (a redirect, not followed): webhook {target.name!r} at "
            f"{target.where}; set the webhook's url to where it points now",
            status=status,
        )
    raise WebhookGiveUp(
        f"{detail}: webhook {target.name!r} at {target.where} refused the message",
        status=status,
    )


def _teams_throttled(target: WebhookTarget, body: bytes) -> bool:
    return target.format is WebhookFormat.TEAMS and TEAMS_THROTTLED in body


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now` (RFC 9110, 10.2.3): delay-seconds or an HTTP-date.

    None when absent or unreadable; never negative, at most `MAX_RETRY_AFTER`.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def excerpt(body: bytes, target: WebhookTarget) -> str:
    """The start of the receiver's answer on one line, with nothing secret in it."""
    text = body[: EXCERPT_LIMIT * 4].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = scrub(_SPACES.sub(" ", text).strip(), target)
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1] + "…"


def scrub(text: str, target: WebhookTarget) -> str:
    """`text` without the target's URL, path, query, user info or secret anywhere in it."""
    for secret in sorted(_secret_parts(target), key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def _secret_parts(target: WebhookTarget) -> set[str]:
    parts = urlsplit(target.url)
    found = {target.url, target.secret, parts.path, parts.query, parts.fragment}
    found.add(parts.netloc.rpartition("@")[0])
    found |= {segment for segment in parts.path.split("/") if len(segment) >= _SECRET_PART_LENGTH}
    for piece in parts.query.split("&"):
        found |= {piece, piece.partition("=")[2]}
    found |= {unquote(piece) for piece in found if piece}
    return {piece for piece in found if len(piece) >= 3}
