"""The Channel protocol: what the delivery loop hands a channel, and what a channel answers.

A channel carries messages of one kind (`ChannelKind`: email, webhook) to recipients. The
delivery loop (delivery/loop.py) is channel-neutral: it takes ready deliveries from the
store, decides send-now or hold (digests), calls the channel, and records the result with
the retry policy. A channel never touches the store, never retries by itself, never sleeps
out a backoff and never decides about digests: it tries once and says how it went.

What a channel receives:
- `send(recipient, item)`: one message about one event. `recipient.address` is the email
  address (unvalidated: the submitter's is what IPS wrote) or the webhook's name;
  `recipient.locale` is the route's language, or None for "the job's own `locale`" (then
  fall back to `notify.default_locale`). `item.event` is the job event; `item.completion`
  is set for every `finished` event (the loop never sends one before its outcome is known)
  and None for the other kinds.
- `send_digest(recipient, items)`: ONE message listing several held events (at least two),
  oldest first, for one recipient; `digest_id` is deterministic from the items' event ids,
  stable across retries and replays (use it as the Message-ID's or payload's id).

What a channel returns: a receipt, a short text recorded with the delivery (`receipt`
column; the email's Message-ID, or e.g. "HTTP 204" for a webhook). No secret in it.

What a channel raises (all `ChannelError`, with a `reason` that is safe to log and store:
no password, no webhook URL secret):
- `RetryLater`: may go through later (SMTP 4xx, HTTP 429 and 5xx, timeouts, connection
  errors). `retry_after`: seconds the far end asked for (HTTP Retry-After), or None.
  `outage=True`: the far end as a whole failed (nothing about this message): the loop then
  treats its next success on this channel and recipient as "back", and makes every pending
  delivery there due at once.
- `GiveUp`: will never go through (SMTP 5xx to RCPT/DATA, HTTP 4xx other than 429, a
  message that cannot be built): recorded dead with the reason.
- `Unaddressable`: the recipient cannot be addressed at all (an email address that cannot
  go into a header, an unknown webhook name): recorded skipped with the reason.
Any other exception is a bug: the loop logs it and records the delivery dead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, Recipient

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelKind",
    "GiveUp",
    "Item",
    "Recipient",
    "RetryLater",
    "Unaddressable",
    "digest_id",
]


@dataclass(frozen=True, slots=True)
class Item:
    """What one message (or one line of a digest) is about."""

    event: Event
    completion: Completion | None = None


class ChannelError(Exception):
    """Base of what a channel raises. `reason` is safe to log and to store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(ChannelError):
    """Try this message again later (after `retry_after` seconds, when the far end said)."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, outage: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.outage = outage


class GiveUp(ChannelError):
    """This message will never go through: dead, with the reason."""


class Unaddressable(ChannelError):
    """This recipient cannot be addressed at all: skipped, with the reason."""


class Channel(Protocol):
    """One way of telling recipients. `kind` says which deliveries it carries."""

    @property
    def kind(self) -> ChannelKind: ...

    async def send(self, recipient: Recipient, item: Item) -> str:
        """Deliver one message; returns the receipt. Raises `ChannelError`s only."""
        ...

    async def send_digest(self, recipient: Recipient, items: Sequence[Item]) -> str:
        """Deliver one digest of `items` (two or more, oldest first); returns the receipt."""
        ...

    async def close(self) -> None:
        """Release connections; called once at shutdown."""
        ...


def digest_id(items: Sequence[Item], recipient: Recipient) -> str:
    """The id of the digest of `items` for `recipient`: the same for the same held events."""
    h = hashlib.sha256()
    for part in (recipient.channel.value, recipient.key[1], *(i.event.id for i in items)):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:32]
