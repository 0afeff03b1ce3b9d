"""`notifier outbox show ID`: one delivery in full, with the headers of its message.

The message is rebuilt with the channel's own builder from what the store keeps (the event,
its outcome, the recipient and its language) and the configuration (sender, time zone,
webhooks), so the headers are those that were (or will be) sent: Message-ID, threading,
X-IPS-* for email; X-Notifier-Event-Id and the signature for a webhook. A delivery that went
out in a digest shows the email about its event alone; the receipt is the digest's. Never
shows a webhook's URL path or query, nor a secret; never changes the store.
"""

from __future__ import annotations

import json
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from notifier.config import Config
from notifier.core.events import EventKind
from notifier.core.routing import ChannelKind
from notifier.delivery.channel import ChannelError, Item
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.channel import EmailSettings, localized_message
from notifier.mail.message import MessageError
from notifier.outbox.listing import as_json, printable, shown_recipient, utc_text
from notifier.store.protocol import OWED, Delivery
from notifier.webhook.channel import WebhookChannel
from notifier.webhook.signing import request_headers


def headers(config: Config, delivery: Delivery) -> tuple[list[tuple[str, str]], str]:
    """The message's headers, and "" or why there are none (not built yet, cannot be)."""
    if delivery.event.kind is EventKind.FINISHED and delivery.completion is None:
        return [], "not built yet: the job's outcome is not known yet"
    item = Item(delivery.event, delivery.completion)
    try:
        if delivery.channel is ChannelKind.EMAIL:
            return _email_headers(config, delivery, item), ""
        return _webhook_headers(config, delivery, item)
    except (InvalidAddress, MessageError, ChannelError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return [], f"cannot be built: {reason}"


def _email_headers(config: Config, delivery: Delivery, item: Item) -> list[tuple[str, str]]:
    settings = EmailSettings(
        sender=config.smtp.sender,
        default_locale=config.notify.default_locale,
        timezone=config.notify.timezone,
    )
    to = validate_address(delivery.recipient.address)
    email = localized_message(item, to=to, locale=delivery.recipient.locale, settings=settings)
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(email.data)
    return [(name, str(value)) for name, value in parsed.items()]


def _webhook_headers(
    config: Config, delivery: Delivery, item: Item
) -> tuple[list[tuple[str, str]], str]:
    name = delivery.recipient.address.casefold()
    hook = next((h for h in config.webhooks if h.name.casefold() == name), None)
    if hook is None:
        return [], f"no [[webhook]] named {delivery.recipient.address!r} is configured now"
    target = hook.target()
    prepared = WebhookChannel([target]).prepare(delivery.recipient, item)
    sent = request_headers(prepared.event_id, prepared.body, target.secret)
    return [("POST", target.where), *sent.items()], ""


def text(config: Config, delivery: Delivery) -> str:
    job = delivery.event.job
    fields = [
        ("delivery", str(delivery.id)),
        ("status", delivery.status.value),
        ("channel", delivery.channel.value),
        ("recipient", printable(shown_recipient(delivery.recipient))),
        ("language", delivery.recipient.locale or "the job's"),
        ("event", f"{delivery.event.kind.value} ({delivery.event.id})"),
        ("outcome", delivery.completion.outcome.value if delivery.completion else "-"),
        (
            "job",
            f"{printable(job.name)} ({printable(job.job_handle)}, company {job.company_handle})",
        ),
        ("attempts", str(delivery.attempts)),
        ("created (UTC)", utc_text(delivery.created_at)),
        ("pending since", utc_text(delivery.pending_since)),
        ("last change", utc_text(delivery.updated_at)),
        ("next attempt", utc_text(delivery.next_attempt_at) if delivery.status in OWED else "-"),
        ("receipt", delivery.receipt or "-"),
        ("reason", printable(delivery.last_error or "") or "-"),
    ]
    width = max(len(name) for name, _ in fields) + 1
    lines = [f"{(name + ':').ljust(width)} {value}" for name, value in fields]
    found, why = headers(config, delivery)
    lines.append("")
    lines.append("headers:" if found else f"headers: {why}")
    lines.extend(f"  {name}: {printable(value)}" for name, value in found)
    return "\n".join(lines) + "\n"


def document(config: Config, delivery: Delivery) -> str:
    found, why = headers(config, delivery)
    entry: dict[str, Any] = as_json(delivery)
    entry["locale"] = delivery.recipient.locale
    entry["outcome"] = delivery.completion.outcome.value if delivery.completion else None
    entry["headers"] = [[name, value] for name, value in found]
    entry["headers_missing"] = why or None
    return json.dumps(
        {"store": str(config.store.path), "delivery": entry}, ensure_ascii=False, indent=2
    )
