"""The webhook channel: `[[webhook]]` recipients for the delivery loop (delivery/channel.py).

`prepare` turns one event (or a digest's items) into a signed-ready request in the webhook's
`format`, `deliver` posts it once through the shared `WebhookSender` and translates its
answer into the protocol's RetryLater (with Retry-After and outage) or GiveUp. A recipient's
address is the webhook's name (`webhook:ops` in a route's `to`). Never retries, never sleeps,
never touches the store; reasons never hold a URL path, query or secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from notifier.core.routing import ChannelKind, Recipient
from notifier.delivery.channel import (
    Channel,
    GiveUp,
    Item,
    RetryLater,
    Unaddressable,
    digest_id,
)
from notifier.webhook.errors import WebhookGiveUp, WebhookRetryLater
from notifier.webhook.payload import Payload, digest_payload, encode, event_payload
from notifier.webhook.sender import WebhookSender
from notifier.webhook.slack import slack_digest, slack_message
from notifier.webhook.target import WebhookFormat, WebhookTarget
from notifier.webhook.teams import teams_digest, teams_message

DEFAULT_CONCURRENCY = 4


class _Language(TypedDict):
    locale: str | None
    default_locale: str
    timezone: str


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A prepared POST: `event_id` goes in X-Notifier-Event-Id, `body` is what is signed."""

    target: WebhookTarget
    event_id: str
    body: bytes


class WebhookChannel:
    """Implements delivery.channel.Channel[WebhookRequest] for the configured webhooks."""

    def __init__(
        self,
        targets: Iterable[WebhookTarget],
        *,
        sender: WebhookSender | None = None,
        default_locale: str = "en",
        timezone: str = "UTC",
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._targets = {target.name: target for target in targets}
        self._folded = {name.casefold(): target for name, target in self._targets.items()}
        self._sender = sender or WebhookSender()
        self._default_locale = default_locale
        self._timezone = timezone
        self._concurrency = concurrency

    @property
    def kind(self) -> ChannelKind:
        return ChannelKind.WEBHOOK

    @property
    def concurrency(self) -> int:
        return self._concurrency

    def prepare(self, recipient: Recipient, item: Item) -> WebhookRequest:
        target = self._target(recipient)
        options = self._options(recipient)
        try:
            payload: Payload
            if target.format is WebhookFormat.SLACK:
                payload = slack_message(item.event, item.completion, **options)
            elif target.format is WebhookFormat.TEAMS:
                payload = teams_message(item.event, item.completion, **options)
            else:
                payload = event_payload(item.event, item.completion)
            return WebhookRequest(target, item.event.id, encode(payload))
        except (ValueError, KeyError) as exc:
            raise GiveUp(f"webhook {target.name!r}: the message cannot be built ({exc})") from None

    def prepare_digest(self, recipient: Recipient, items: Sequence[Item]) -> WebhookRequest:
        target = self._target(recipient)
        options = self._options(recipient)
        the_id = digest_id(items, recipient)
        try:
            payload: Payload
            if target.format is WebhookFormat.SLACK:
                payload = slack_digest(items, **options)
            elif target.format is WebhookFormat.TEAMS:
                payload = teams_digest(items, **options)
            else:
                # Dated by its latest event, so a retried digest is the same body.
                latest = max(item.event.at for item in items)
                payload = digest_payload(the_id, items, latest)
            return WebhookRequest(target, the_id, encode(payload))
        except (ValueError, KeyError) as exc:
            raise GiveUp(f"webhook {target.name!r}: the digest cannot be built ({exc})") from None

    async def deliver(self, message: WebhookRequest) -> str:
        try:
            return await self._sender.post(message.target, message.event_id, message.body)
        except WebhookRetryLater as exc:
            where = f"webhook {message.target.name!r} at {message.target.where}"
            raise RetryLater(
                exc.reason, retry_after=exc.retry_after, outage=exc.outage, where=where
            ) from None
        except WebhookGiveUp as exc:
            raise GiveUp(exc.reason) from None

    async def close(self) -> None:
        await self._sender.close()

    def _target(self, recipient: Recipient) -> WebhookTarget:
        name = recipient.address
        target = self._targets.get(name) or self._folded.get(name.casefold())
        if target is None:
            known = ", ".join(sorted(self._targets)) or "none"
            raise Unaddressable(
                f"no [[webhook]] is named {name!r} (configured: {known}); fix the route's "
                f"'webhook:{name}' or add the webhook"
            )
        return target

    def _options(self, recipient: Recipient) -> _Language:
        return {
            "locale": recipient.locale,
            "default_locale": self._default_locale,
            "timezone": self._timezone,
        }


if TYPE_CHECKING:  # mypy checks that the channel keeps to the protocol
    _conforms: Channel[WebhookRequest] = WebhookChannel([])
