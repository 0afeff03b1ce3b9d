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
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from notifier.core.routing import ChannelKind, Recipient
from notifier.delivery.channel import GiveUp, Item, RetryLater, Unaddressable, digest_id
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.message import (
    MESSAGE_ID_DOMAIN,
    POLICY,
    MessageError,
    OutgoingEmail,
    build_message,
)
from notifier.mail.render import status_of
from notifier.mail.safe_text import header_text
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
    sender: str
    default_locale: str = "en"
    timezone: str = "UTC"


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
    """The email of notifier/mail/message.py: localized text and HTML."""
    return build_message(
        item.event,
        item.completion,
        sender=settings.sender,
        to=to,
        locale=locale,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
    )


class EmailChannel:
    """Emails through one Mailer. `build`, `build_digest`: the emails' builders."""

    def __init__(
        self,
        mailer: MailSender,
        settings: EmailSettings,
        *,
        build: MessageBuilder = localized_message,
        build_digest: DigestBuilder | None = None,
    ) -> None:
        self._mailer = mailer
        self._settings = settings
        self._build = build
        self._build_digest = build_digest or plain_digest

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


def plain_digest(
    items: Sequence[Item],
    *,
    digest_id: str,
    to: str,
    locale: str | None,
    settings: EmailSettings,
) -> OutgoingEmail:
    """A plain-text digest in English: one line per held event. The localized text and
    HTML digest replaces it (notifier/mail/digest.py)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = f"{len(items)} IPS job notifications"
    message["Date"] = format_datetime(max(item.event.at for item in items))
    message["Message-ID"] = f"<digest-{digest_id}@{MESSAGE_ID_DOMAIN}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-IPS-Job-Event"] = "digest"
    message["X-IPS-Digest-Count"] = str(len(items))
    lines = [
        f"- {header_text(i.event.job.name or i.event.job.job_handle)}: "
        f"{status_of(i.event, i.completion)} at {i.event.at.isoformat(timespec='seconds')}"
        for i in items
    ]
    message.set_content("\n".join(lines) + "\n")
    envelope = validate_address(message["From"].addresses[0].addr_spec)
    mid = str(message["Message-ID"])
    return OutgoingEmail(sender=envelope, recipient=to, message_id=mid, data=message.as_bytes())
