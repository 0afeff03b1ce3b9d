"""The email channel: the Channel protocol (notifier/delivery/channel.py) over SMTP.

Owns what is email-specific in a delivery: checking that the recipient's address can be
mailed (else `Unaddressable`), building the email in the recipient's language (the route's,
or the job's for its submitter), building a digest's email, and translating the sender's
errors into the channel's (5xx: `GiveUp`; 4xx: `RetryLater`; the server as a whole failing:
`RetryLater(outage=True)`). Never retries, never touches the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from notifier.core.routing import ChannelKind, Recipient
from notifier.delivery.channel import GiveUp, Item, RetryLater, Unaddressable, digest_id
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.digest import localized_digest
from notifier.mail.message import MessageError, OutgoingEmail, build_message
from notifier.mail.sender import (
    DeliveryError,
    PermanentDeliveryError,
    ServerUnavailableError,
)


class MailSender(Protocol):
    """What the channel needs of notifier.mail.sender.Mailer."""

    @property
    def max_connections(self) -> int: ...

    async def send(
        self, message: OutgoingEmail, *, recipients: Sequence[str] | None = None
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """smtp.from, notify.default_locale, notify.timezone, notify.reply_to, notify.dmc_url
    and smtp.message_id_domain ("" for none, or for smtp.from's domain)."""

    sender: str
    default_locale: str = "en"
    timezone: str = "UTC"
    reply_to: str = ""
    dmc_url: str = ""
    message_id_domain: str = ""


class DigestBuilder(Protocol):
    """The email listing several held events for one recipient (`to`, already checked),
    with the Message-ID `<digest_id@...>`, in `locale` (None: the held jobs' own)."""

    def __call__(
        self,
        items: Sequence[Item],
        *,
        digest_id: str,
        to: str,
        locale: str | None,
        settings: EmailSettings,
    ) -> OutgoingEmail: ...


class MessageBuilder(Protocol):
    """The email about one event to `to` (already checked) in `locale` (None: the job's)."""

    def __call__(
        self, item: Item, *, to: str, locale: str | None, settings: EmailSettings
    ) -> OutgoingEmail: ...


def localized_message(
    item: Item, *, to: str, locale: str | None, settings: EmailSettings
) -> OutgoingEmail:
    """The email of notifier/mail/message.py: localized text and HTML, dated now (it is
    built just before it is sent, and again for each retry)."""
    return build_message(
        item.event,
        item.completion,
        sender=settings.sender,
        to=to,
        locale=locale,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        reply_to=settings.reply_to,
        dmc_url=settings.dmc_url,
        message_id_domain=settings.message_id_domain,
    )


class EmailChannel:
    """Emails through one Mailer. `build`, `build_digest`: the emails' builders."""

    def __init__(
        self,
        mailer: MailSender,
        settings: EmailSettings,
        *,
        build: MessageBuilder = localized_message,
        build_digest: DigestBuilder = localized_digest,
    ) -> None:
        self._mailer = mailer
        self._settings = settings
        self._build = build
        self._build_digest = build_digest

    @property
    def kind(self) -> ChannelKind:
        return ChannelKind.EMAIL

    @property
    def concurrency(self) -> int:
        return self._mailer.max_connections

    def prepare(self, recipient: Recipient, item: Item) -> OutgoingEmail:
        to = _mailable(recipient)
        try:
            return self._build(item, to=to, locale=recipient.locale, settings=self._settings)
        except MessageError as exc:
            raise GiveUp(f"cannot build the email: {exc}") from exc

    def prepare_digest(self, recipient: Recipient, items: Sequence[Item]) -> OutgoingEmail:
        to = _mailable(recipient)
        try:
            return self._build_digest(
                items,
                digest_id=digest_id(items, recipient),
                to=to,
                locale=recipient.locale,
                settings=self._settings,
            )
        except MessageError as exc:
            raise GiveUp(f"cannot build the digest email: {exc}") from exc

    async def deliver(self, message: OutgoingEmail) -> str:
        try:
            await self._mailer.send(message, recipients=[message.recipient])
        except PermanentDeliveryError as exc:
            raise GiveUp(exc.reason) from exc
        except ServerUnavailableError as exc:
            raise RetryLater(exc.reason, outage=True, where=exc.where) from exc
        except DeliveryError as exc:
            raise RetryLater(exc.reason) from exc
        return message.message_id

    async def close(self) -> None:
        """The Mailer's pool is closed by its owner (the daemon)."""


def _mailable(recipient: Recipient) -> str:
    try:
        return validate_address(recipient.address)
    except InvalidAddress as exc:
        raise Unaddressable(f"invalid recipient address: {exc.reason}") from exc
