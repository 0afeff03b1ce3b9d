"""Builds the email for one job event: headers, threading and the two rendered parts.

Owns the headers every email carries (see DESIGN.md, "What every email carries"), and makes
sure nothing from IPS can add a header or a recipient. Never renders text (`render.py`),
never validates or routes addresses (the dispatcher does) and never sends.
"""

from __future__ import annotations

from datetime import UTC
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from notifier.core.events import Completion, Event, EventKind
from notifier.mail.i18n import bcp47
from notifier.mail.render import RenderedEmail, render_bodies, status_of
from notifier.mail.safe_text import header_text

MESSAGE_ID_DOMAIN = "ips-job-notifier"
HANDLE_HEADER_LIMIT = 200


class _HeaderClasses(HeaderRegistry):
    """The standard registry, but each header's class is made once, not once per header set.

    The stock registry builds a new class for every header set on a message, which was a
    good part of the cost of building an email.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = SMTP.clone(header_factory=_HeaderClasses())


class MessageError(ValueError):
    """The email cannot be built: no recipient, or an address that is not one line."""


def message_id(event: Event) -> str:
    """Stable across retries and replays, so a repeated email is recognisably the same."""
    return f"<{event.id}@{MESSAGE_ID_DOMAIN}>"


def thread_root_id(event: Event) -> str:
    """The (never sent) root every email of one job run refers to, so they thread together."""
    return f"<run-{event.thread_id}@{MESSAGE_ID_DOMAIN}>"


def build_message(
    event: Event,
    completion: Completion | None,
    *,
    sender: str,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> EmailMessage:
    """The complete email for `event`, to its job's submitter, in the job's language."""
    recipient = _address(event.job.submit_user_email, "recipient")
    rendered = render_bodies(event, completion, default_locale=default_locale, timezone=timezone)
    return assemble(event, completion, rendered, sender=_address(sender, "sender"), to=recipient)


def assemble(
    event: Event,
    completion: Completion | None,
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
) -> EmailMessage:
    """Headers and parts around already rendered bodies."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = header_text(rendered.subject)
    at = event.at if event.at.tzinfo is not None else event.at.replace(tzinfo=UTC)
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id(event)
    message["In-Reply-To"] = thread_root_id(event)
    message["References"] = thread_root_id(event)
    message["Auto-Submitted"] = "auto-generated"
    message["X-IPS-Job-Event"] = event.kind.value
    if event.kind is EventKind.FINISHED:
        message["X-IPS-Job-Outcome"] = status_of(event, completion)
    message["X-IPS-Job-Handle"] = header_text(event.job.job_handle)[:HANDLE_HEADER_LIMIT]
    message.set_content(rendered.text, charset="utf-8", cte=_transfer_encoding(rendered.text))
    message.add_alternative(
        rendered.html, subtype="html", charset="utf-8", cte=_transfer_encoding(rendered.html)
    )
    # After the parts: setting content replaces every Content-* header of the message.
    message["Content-Language"] = bcp47(rendered.catalog)
    return message


def _address(value: str | None, role: str) -> str:
    if not value or not value.strip():
        raise MessageError(f"the {role} address is empty")
    if header_text(value) != value.strip():
        raise MessageError(
            f"the {role} address contains control characters, line breaks or an encoded word"
        )
    return value.strip()


def _transfer_encoding(body: str) -> str:
    # Both are 7-bit clean, so no SMTP server has to support 8BITMIME; quoted-printable
    # stays readable for mostly-ASCII text, base64 is a third the size of it for CJK.
    non_ascii = len(body) - len(body.encode("ascii", "ignore"))  # counted in C: bodies are long
    return "base64" if non_ascii * 4 > len(body) else "quoted-printable"
