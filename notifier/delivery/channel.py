"""The Channel protocol: what the delivery loop hands a channel, and what a channel answers.

A channel carries messages of one kind (`ChannelKind`: email, webhook) to recipients. The
delivery loop (delivery/loop.py) is channel-neutral: it takes ready deliveries from the
store, decides send-now or hold (digests), asks the channel to build the message, has it
delivered, and records the result with the retry policy. A channel never touches the store,
never retries by itself, never sleeps out a backoff and never decides about digests: it
tries once and says how it went.

Two steps, so that messages are built ahead while others are on the wire, and a crash can
repeat at most the `concurrency` deliveries in flight (a delivery keeps its slot until its
result is recorded):
- `prepare(recipient, item)` (plain, CPU only, no I/O): build the message for one event.
  `recipient.address` is the email address (unvalidated: the submitter's is what IPS
  wrote) or the webhook's name; `recipient.locale` is the route's language, or None for
  "the job's own `locale`" (falling back to `notify.default_locale`). `item.event` is the
  job event; `item.completion` is set for every `finished` event (the loop never prepares
  one before its outcome is known) and None for the other kinds.
- `prepare_digest(recipient, items)`: ONE message listing several events (at least two),
  oldest first: the held ones, and those of the same window already sent one by one
  (`item.already_sent`, to be marked so); `digest_id(items, recipient)` is deterministic,
  stable across retries and replays (use it in the Message-ID or as the payload's `id`).
- `deliver(message)` (async, the wire): hand the prepared message over once; returns a
  receipt, a short text recorded with the delivery (the email's Message-ID, "HTTP 204"...),
  never a secret.

What a channel raises (all `ChannelError`, with a `reason` that is safe to log and store:
no password, no webhook URL secret):
- `RetryLater` (from `deliver`): may go through later (SMTP 4xx, HTTP 429 and 5xx, timeouts,
  connection errors). `retry_after`: seconds the far end asked for (HTTP Retry-After), or
  None. `outage=True`: the far end as a whole failed (nothing about this message): the loop
  tells the outage once (naming `where`, the far end as it may be shown: "SMTP server
  mail.example.com:25", never a credential), takes its next success on this channel and
  recipient as "back", and makes every pending delivery there due at once.
- `GiveUp` (either step): will never go through (SMTP 5xx to RCPT/DATA, HTTP 4xx other than
  429, a message that cannot be built): recorded dead with the reason.
- `Unaddressable` (from `prepare`): the recipient cannot be addressed at all (an email
  address that cannot go into a header, an unknown webhook name): recorded skipped.
Any other exception is a bug: the loop logs it and records the delivery dead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind, Recipient

M = TypeVar("M")
"""The channel's own form of a prepared message (an OutgoingEmail, a signed request)."""

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
    """What one message (or one line of a digest) is about. `already_sent`: a digest's
    line about an event this recipient was already sent on its own within the digest's
    window (listed so the digest is the whole burst; not what the digest delivers)."""

    event: Event
    completion: Completion | None = None
    already_sent: bool = False


class ChannelError(Exception):
    """Base of what a channel raises. `reason` is safe to log and to store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(ChannelError):
    """Try this message again later (after `retry_after` seconds, when the far end said)."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        outage: bool = False,
        where: str = "",
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.outage = outage
        self.where = where


class GiveUp(ChannelError):
    """This message will never go through: dead, with the reason."""


class Unaddressable(ChannelError):
    """This recipient cannot be addressed at all: skipped, with the reason."""


class Channel(Protocol[M]):
    """One way of telling recipients. `kind`: which deliveries it carries; `concurrency`:
    how many of its deliveries may be on the wire at once."""

    @property
    def kind(self) -> ChannelKind: ...

    @property
    def concurrency(self) -> int: ...

    def prepare(self, recipient: Recipient, item: Item) -> M:
        """The message about one event. Raises `GiveUp` or `Unaddressable` only."""
        ...

    def prepare_digest(self, recipient: Recipient, items: Sequence[Item]) -> M:
        """One message listing `items` (two or more, oldest first)."""
        ...

    async def deliver(self, message: M) -> str:
        """Hand `message` over once; returns the receipt. Raises `ChannelError`s only."""
        ...

    async def close(self) -> None:
        """Release connections; called once at shutdown."""
        ...


def digest_id(items: Sequence[Item], recipient: Recipient) -> str:
    """The id of the digest of `items` for `recipient`: the same for the same held events
    (those already sent on their own do not count)."""
    held = (i.event.id for i in items if not i.already_sent)
    h = hashlib.sha256()
    for part in (recipient.channel.value, recipient.key[1], *held):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:32]
