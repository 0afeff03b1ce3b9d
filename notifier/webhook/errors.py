"""Everything that can go wrong posting to a webhook, sorted by what the caller must do.

`WebhookRetryLater` may go through later (429, 5xx, timeouts, connection errors);
`WebhookGiveUp` never will (other 4xx, redirects, a body that cannot be built). Every
`reason` is safe to log and to store: no URL path or query, no secret.
"""

from __future__ import annotations


class WebhookError(Exception):
    """Base of every error raised by notifier.webhook. `status` is the HTTP status, if any."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class WebhookRetryLater(WebhookError):
    """Try again later: after `retry_after` seconds when the receiver said (Retry-After).

    `outage`: the receiver as a whole failed (unreachable, timing out, 5xx), so nothing
    about this message; a 429 is not an outage, only a request to slow down.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        outage: bool = False,
    ) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after
        self.outage = outage


class WebhookGiveUp(WebhookError):
    """The receiver refused this message for good: record it dead with the reason."""
