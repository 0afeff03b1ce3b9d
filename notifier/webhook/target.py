"""One configured `[[webhook]]`: where it is, which payload it takes, how it is signed.

A value only; its `repr` never shows the URL's path or query nor the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit


class WebhookFormat(StrEnum):
    """The `format` key: our own JSON, or the incoming-webhook payload of Slack or Teams."""

    JSON = "json"
    SLACK = "slack"
    TEAMS = "teams"


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """`timeout` in seconds for the whole request; `ca_file` a PEM bundle to trust instead of
    the system's; `secret` signs the body (empty: unsigned)."""

    name: str
    url: str = field(repr=False)
    format: WebhookFormat = WebhookFormat.JSON
    secret: str = field(default="", repr=False)
    timeout: float = 10.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError(
                f"webhook {self.name!r}: url must be an http(s) URL such as "
                "https://example.com/hooks/ips"
            )
        if self.timeout <= 0:
            raise ValueError(f"webhook {self.name!r}: timeout must be a positive number of seconds")

    @property
    def where(self) -> str:
        """The URL as it may be shown: scheme, host and port, the rest elided."""
        return redacted(self.url)


def redacted(url: str) -> str:
    """`https://hooks.slack.com/…`: Slack and Teams put the credential in the path, so the
    path, query, fragment and any user info are never shown."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unparseable URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}/…"
