"""The webhook sender: POSTs a body to a webhook, over one aiohttp session.

Owns the connection pool, TLS (always verified: the system's trust store, or the target's
`ca_file`), the per-webhook timeout and turning every transport failure into a
`WebhookError` (see answer.py for what an HTTP answer means). Tries once: the delivery loop
decides about retries. Never shows the URL's path, query or user info, nor the secret.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from notifier.webhook.answer import check, scrub
from notifier.webhook.errors import WebhookError, WebhookRetryLater
from notifier.webhook.signing import request_headers
from notifier.webhook.target import WebhookTarget

ANSWER_LIMIT = 4_096
"""Bytes of an answer's body read: enough for its reason, never a whole page."""
MAX_CONNECTIONS = 8


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookSender:
    """`await sender.post(target, event_id, body)` -> "HTTP 204", or a `WebhookError`.

    One session for every webhook, made at the first post; `close()` at shutdown.
    """

    def __init__(
        self,
        *,
        max_connections: int = MAX_CONNECTIONS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._max_connections = max_connections
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._tls: dict[str | None, ssl.SSLContext] = {}

    async def post(self, target: WebhookTarget, event_id: str, body: bytes) -> str:
        """Deliver `body` once; the receipt is "HTTP <status>"."""
        headers = request_headers(event_id, body, target.secret)
        timeout = aiohttp.ClientTimeout(total=target.timeout)
        try:
            async with self._client().post(
                target.url,
                data=body,
                headers=headers,
                timeout=timeout,
                ssl=self._tls_for(target),
                allow_redirects=False,
            ) as response:
                answer = await response.content.read(ANSWER_LIMIT)
                retry_after = response.headers.get("Retry-After")
                return check(target, response.status, retry_after, answer, self._clock())
        except WebhookError:
            raise
        except TimeoutError:
            raise WebhookRetryLater(
                f"webhook {target.name!r} at {target.where} did not answer within "
                f"{target.timeout:g} s; retrying later",
                outage=True,
            ) from None
        except aiohttp.ClientSSLError as exc:
            raise WebhookRetryLater(
                f"TLS with webhook {target.name!r} at {target.where} failed "
                f"({_described(exc, target)}); check its certificate, or give ca_file for a "
                "private CA",
                outage=True,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise WebhookRetryLater(
                f"webhook {target.name!r} at {target.where} could not be reached "
                f"({_described(exc, target)}); retrying later",
                outage=True,
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                auto_decompress=True,
                trust_env=False,
            )
        return self._session

    def _tls_for(self, target: WebhookTarget) -> ssl.SSLContext:
        context = self._tls.get(target.ca_file)
        if context is None:
            try:
                context = ssl.create_default_context(cafile=target.ca_file or None)
            except (OSError, ssl.SSLError) as exc:
                raise WebhookRetryLater(
                    f"webhook {target.name!r}: its ca_file {target.ca_file!r} cannot be read as "
                    f"a PEM bundle ({exc.__class__.__name__}); fix the file or the setting"
                ) from None
            self._tls[target.ca_file] = context
        return context


def _described(exc: BaseException, target: WebhookTarget) -> str:
    """The exception's class and message, without any part of the URL that is secret."""
    text = scrub(str(exc), target)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
