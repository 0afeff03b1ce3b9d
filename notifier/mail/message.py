"""Builds the email for one job event, as the bytes that go on the wire.

Owns the headers every email carries (see docs/DESIGN.md, "What every email carries"), the MIME
layout (multipart/alternative: text, then HTML, both UTF-8 in a 7-bit transfer encoding),
and makes sure nothing from IPS can add a header or a recipient. Never renders text
(`render.py`), never validates or routes addresses (routing and the email channel do)
and never sends.

The email is written directly as bytes rather than through an `EmailMessage`: building one
parses every header into an object, and sending it flattens and refolds them all again,
which cost several times the rendering itself (docs/BENCHMARKS.md, burst). Headers that
are plain short ASCII are written as they are; anything else (non-ASCII text, long lines,
addresses with display names) is folded and encoded by the `email` package, so the encoding
rules stay the standard library's.
"""

from __future__ import annotations

import binascii
import email.policy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import AddressHeader, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache

from notifier.core.events import Completion, Event, EventKind
from notifier.mail.i18n import bcp47
from notifier.mail.render import RenderedEmail, render_bodies, status_of
from notifier.mail.safe_text import header_text

MESSAGE_ID_DOMAIN = "ips-job-notifier"
HANDLE_HEADER_LIMIT = 200
MAX_LINE = 78
"""RFC 5322's recommended line length, which every line of the email keeps to."""


class _HeaderClasses(HeaderRegistry):
    """The standard registry, but each header's class is made once, not once per header set.

    The stock registry builds a new class for every header it parses.
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
_UTF8_POLICY = POLICY.clone(utf8=True)  # for mailboxes that only SMTPUTF8 can carry


class MessageError(ValueError):
    """The email cannot be built: no recipient, or an address that is not one line."""


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One complete email, ready for the wire.

    `sender` is the envelope sender (the From address), `recipient` the To address as built,
    `data` the whole message with CRLF line ends: 7-bit, unless an address needs SMTPUTF8.
    """

    sender: str
    recipient: str
    message_id: str
    data: bytes

    def as_bytes(self) -> bytes:
        return self.data

    def as_string(self) -> str:
        return self.data.decode("utf-8")

    def parsed(self) -> EmailMessage:
        """The email as a mail client reads it (for previews and dry runs; slow)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        if not isinstance(parsed, EmailMessage):  # pragma: no cover - the policy decides
            raise TypeError("the default policy did not give an EmailMessage")
        return parsed


def message_id(event: Event, to: str | None = None) -> str:
    """Stable across retries and replays, so a repeated email is recognisably the same.

    The submitter's email has the event's id; another recipient's (a route's) has the event
    and the address, so that each recipient's copy is its own message.
    """
    if to is None or _same_address(to, event.job.submit_user_email):
        return f"<{event.id}@{MESSAGE_ID_DOMAIN}>"
    tag = hashlib.blake2b(to.strip().casefold().encode(), digest_size=6).hexdigest()
    return f"<{event.id}.{tag}@{MESSAGE_ID_DOMAIN}>"


def thread_root_id(event: Event) -> str:
    """The (never sent) root every email of one job run refers to, so they thread together."""
    return f"<run-{event.thread_id}@{MESSAGE_ID_DOMAIN}>"


def build_message(
    event: Event,
    completion: Completion | None,
    *,
    sender: str,
    to: str | None = None,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> OutgoingEmail:
    """The complete email for `event`, to `to` (default: its job's submitter), in `locale`
    (default: the job's language)."""
    recipient = _address(event.job.submit_user_email if to is None else to, "recipient")
    rendered = render_bodies(
        event, completion, locale=locale, default_locale=default_locale, timezone=timezone
    )
    return assemble(event, completion, rendered, sender=_address(sender, "sender"), to=recipient)


def assemble(
    event: Event,
    completion: Completion | None,
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
) -> OutgoingEmail:
    """Headers and parts around already rendered bodies."""
    from_line, envelope_sender = _sender(sender)
    at = event.at if event.at.tzinfo is not None else event.at.replace(tzinfo=UTC)
    mid = message_id(event, to)
    root = thread_root_id(event)
    # "=_" cannot occur in quoted-printable or base64 text, so no body can hold the boundary.
    boundary = "=_" + hashlib.blake2b(event.id.encode(), digest_size=12).hexdigest()
    head = [
        from_line,
        _header("To", to),
        _header("Subject", header_text(rendered.subject)),
        _header("Date", format_datetime(at)),
        _header("Message-ID", mid),
        _header("In-Reply-To", root),
        _header("References", root),
        "Auto-Submitted: auto-generated\r\n",
        _header("X-IPS-Job-Event", event.kind.value),
    ]
    if event.kind is EventKind.FINISHED:
        head.append(_header("X-IPS-Job-Outcome", status_of(event, completion)))
    handle = header_text(event.job.job_handle)[:HANDLE_HEADER_LIMIT]
    head += [
        _header("X-IPS-Job-Handle", handle),
        _header("Content-Language", bcp47(rendered.catalog)),
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    ]  # the first part's delimiter begins with the empty line that ends the headers
    data = b"".join(
        (
            "".join(head).encode("utf-8"),
            _part(boundary, "plain", rendered.text),
            _part(boundary, "html", rendered.html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )
    return OutgoingEmail(sender=envelope_sender, recipient=to, message_id=mid, data=data)


def _header(name: str, value: str) -> str:
    """One header line, folded and encoded as RFC 5322 and RFC 2047 want it."""
    line = f"{name}: {value}\r\n"
    if len(line) <= MAX_LINE + 2 and value.isascii() and value.isprintable():
        return line
    header: BaseHeader = POLICY.header_factory(name, value)
    return header.fold(policy=_policy_for(header))


def _policy_for(header: BaseHeader) -> email.policy.EmailPolicy[EmailMessage]:
    """SMTPUTF8's for a header with a non-ASCII mailbox (RFC 2047 cannot encode one)."""
    if isinstance(header, AddressHeader) and any(
        not address.addr_spec.isascii() for address in header.addresses
    ):
        return _UTF8_POLICY
    return POLICY


@lru_cache(maxsize=16)
def _sender(sender: str) -> tuple[str, str]:
    """The From line and the envelope sender, for the one configured sender."""
    header: BaseHeader = POLICY.header_factory("From", sender)
    addresses = header.addresses if isinstance(header, AddressHeader) else ()
    if len(addresses) != 1 or not addresses[0].domain:
        raise MessageError("the sender address is not one mailbox such as ips@example.com")
    return header.fold(policy=_policy_for(header)), addresses[0].addr_spec


def _part(boundary: str, subtype: str, body: str) -> bytes:
    lines = body.encode("utf-8").splitlines()
    if _transfer_encoding(body) == "base64":
        # Text is encoded in its canonical form, CR LF line breaks (RFC 2045, 6.8).
        encoding = "base64"
        data = binascii.b2a_base64(b"\r\n".join(lines) + b"\r\n", newline=False)
        encoded = b"\r\n".join(data[i : i + 76] for i in range(0, len(data), 76)) + b"\r\n"
    else:
        # Lines of at most 76 characters, "=" and trailing white space escaped; each line
        # break of the text is a line break of the encoded form.
        encoding = "quoted-printable"
        data = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True)
        encoded = data.replace(b"\n", b"\r\n")
    # The CR LF before a boundary belongs to the delimiter, not to the part before it.
    head = (
        f"\r\n--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("ascii") + encoded


def _address(value: str | None, role: str) -> str:
    if not value or not value.strip():
        raise MessageError(f"the {role} address is empty")
    if header_text(value) != value.strip():
        raise MessageError(
            f"the {role} address contains control characters, line breaks or an encoded word"
        )
    return value.strip()


def _same_address(one: str, other: str | None) -> bool:
    return other is not None and one.strip().casefold() == other.strip().casefold()


def _transfer_encoding(body: str) -> str:
    # Both are 7-bit clean, so no SMTP server has to support 8BITMIME; quoted-printable
    # stays readable for mostly-ASCII text, base64 is a third the size of it for CJK.
    non_ascii = len(body) - len(body.encode("ascii", "ignore"))  # counted in C: bodies are long
    return "base64" if non_ascii * 4 > len(body) else "quoted-printable"


def compose(
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    message_id: str,
    at: datetime,
    extra: Sequence[tuple[str, str]] = (),
) -> OutgoingEmail:
    """An email of already rendered bodies that is about no single event (a digest).

    The same layout and encodings as `assemble`, with `extra` headers after
    Auto-Submitted; no threading headers.
    """
    from_line, envelope_sender = _sender(_address(sender, "sender"))
    to = _address(to, "recipient")
    when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    boundary = "=_" + hashlib.blake2b(message_id.encode(), digest_size=12).hexdigest()
    head = [
        from_line,
        _header("To", to),
        _header("Subject", header_text(rendered.subject)),
        _header("Date", format_datetime(when)),
        _header("Message-ID", message_id),
        "Auto-Submitted: auto-generated\r\n",
        *(_header(name, header_text(value)) for name, value in extra),
        _header("Content-Language", bcp47(rendered.catalog)),
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    ]
    data = b"".join(
        (
            "".join(head).encode("utf-8"),
            _part(boundary, "plain", rendered.text),
            _part(boundary, "html", rendered.html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )
    return OutgoingEmail(sender=envelope_sender, recipient=to, message_id=message_id, data=data)
