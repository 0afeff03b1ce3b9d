"""Builds the email for one job event, or around a digest's bodies, as the bytes that go on
the wire.

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
from notifier.mail.encoded_words import encode_unstructured
from notifier.mail.render import Links, RenderedEmail, render_bodies, status_of
from notifier.mail.safe_text import header_text

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


def message_id(event: Event, domain: str, to: str | None = None) -> str:
    """Stable across retries and replays, so a repeated email is recognisably the same;
    `domain` is a full domain name (smtp.message_id_domain, else smtp.from's domain).

    The submitter's email has the event's id; another recipient's (a route's) has the event
    and the address, so that each recipient's copy is its own message.
    """
    if to is None or _same_address(to, event.job.submit_user_email):
        return f"<{event.id}@{domain}>"
    tag = hashlib.blake2b(to.strip().casefold().encode(), digest_size=6).hexdigest()
    return f"<{event.id}.{tag}@{domain}>"


def thread_root_id(event: Event, domain: str) -> str:
    """The (never sent) root every email of one job run refers to, so they thread together."""
    return f"<run-{event.thread_id}@{domain}>"


def build_message(
    event: Event,
    completion: Completion | None,
    *,
    sender: str,
    to: str | None = None,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
    reply_to: str = "",
    message_id_domain: str = "",
    dmc_url: str = "",
    date: datetime | None = None,
) -> OutgoingEmail:
    """The complete email for `event`, to `to` (default: its job's submitter), in `locale`
    (default: the job's language).

    `date` is when the email is sent, now unless given: an email retried after an outage
    is dated when it goes out, not when the event happened. `reply_to` (an address, or "")
    becomes Reply-To and the contact in the footer; `dmc_url` a link to Dynamic Media
    Classic; `message_id_domain` the right-hand side of the Message-ID ("" for smtp.from's
    domain).
    """
    recipient = _address(event.job.submit_user_email if to is None else to, "recipient")
    reply = _address(reply_to, "reply-to") if reply_to else ""
    rendered = render_bodies(
        event,
        completion,
        locale=locale,
        default_locale=default_locale,
        timezone=timezone,
        links=links_for(reply, dmc_url),
    )
    return assemble(
        event,
        completion,
        rendered,
        sender=_address(sender, "sender"),
        to=recipient,
        reply_to=reply,
        message_id_domain=message_id_domain,
        date=date,
    )


def links_for(reply_to: str, dmc_url: str) -> Links:
    """What the footer and advice link to: the bare address of `reply_to` (notify.reply_to,
    "" for none) and Dynamic Media Classic's address."""
    return Links(contact=_mailbox(reply_to) if reply_to else "", dmc_url=dmc_url)


def assemble(
    event: Event,
    completion: Completion | None,
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    reply_to: str = "",
    message_id_domain: str = "",
    date: datetime | None = None,
) -> OutgoingEmail:
    """Headers and parts around already rendered bodies."""
    _, envelope_sender = _sender(sender)
    domain = message_id_domain or envelope_sender.rpartition("@")[2]
    root = thread_root_id(event, domain)
    ips = [("X-IPS-Job-Event", event.kind.value)]
    if event.kind is EventKind.FINISHED:
        ips.append(("X-IPS-Job-Outcome", status_of(event, completion)))
    ips.append(("X-IPS-Job-Handle", header_text(event.job.job_handle)[:HANDLE_HEADER_LIMIT]))
    return _write(
        rendered,
        sender=sender,
        to=to,
        reply_to=reply_to,
        date=date,
        message_id=message_id(event, domain, to),
        thread_root=root,
        ips_headers=ips,
        boundary_seed=event.id,
    )


def compose(
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    message_id: str,
    reply_to: str = "",
    date: datetime | None = None,
    ips_headers: Sequence[tuple[str, str]] = (),
) -> OutgoingEmail:
    """An email of already rendered bodies that is about no single event (a digest): the
    headers of `assemble` but the threading ones, with `ips_headers` as its X-IPS-*."""
    return _write(
        rendered,
        sender=_address(sender, "sender"),
        to=_address(to, "recipient"),
        reply_to=_address(reply_to, "reply-to") if reply_to else "",
        date=date,
        message_id=message_id,
        thread_root=None,
        ips_headers=ips_headers,
        boundary_seed=message_id,
    )


def message_id_domain_of(sender: str, configured: str = "") -> str:
    """The right-hand side of Message-IDs: smtp.message_id_domain, else smtp.from's domain."""
    return configured or _sender(_address(sender, "sender"))[1].rpartition("@")[2]


def _write(
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    reply_to: str,
    date: datetime | None,
    message_id: str,
    thread_root: str | None,
    ips_headers: Sequence[tuple[str, str]],
    boundary_seed: str,
) -> OutgoingEmail:
    """The headers every email carries, in their order, and the two parts."""
    from_line, envelope_sender = _sender(sender)
    sent = date if date is not None else datetime.now(UTC)
    sent = sent if sent.tzinfo is not None else sent.replace(tzinfo=UTC)
    # "=_" cannot occur in quoted-printable or base64 text, so no body can hold the boundary.
    boundary = "=_" + hashlib.blake2b(boundary_seed.encode(), digest_size=12).hexdigest()
    head = [from_line, _header("To", to)]
    if reply_to:
        head.append(_header("Reply-To", reply_to))
    head += [
        _subject(header_text(rendered.subject)),
        _header("Date", format_datetime(sent)),
        _header("Message-ID", message_id),
    ]
    if thread_root is not None:
        head += [_header("In-Reply-To", thread_root), _header("References", thread_root)]
    head += [
        "Auto-Submitted: auto-generated\r\n",
        # Exchange and Outlook send no out-of-office or auto-replies to this (bounces still
        # come back: not "All").
        "X-Auto-Response-Suppress: OOF, AutoReply\r\n",
        *(_header(name, header_text(value)) for name, value in ips_headers),
        _header("Content-Language", rendered.content_language),
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
    return OutgoingEmail(sender=envelope_sender, recipient=to, message_id=message_id, data=data)


def _subject(value: str) -> str:
    """The Subject line. Text that is not short plain ASCII is written as encoded words that
    carry every space inside them: the email package's own folding loses or doubles a space
    next to an encoded word in about one subject in eight, and a decoder drops the white
    space between encoded words, so nothing else can move."""
    line = f"Subject: {value}\r\n"
    if len(line) <= MAX_LINE + 2 and value.isascii() and value.isprintable():
        return line
    return encode_unstructured("Subject", value, MAX_LINE)


def _mailbox(address: str) -> str:
    """The bare address of a configured mailbox ("IPS Support <ips@example.com>")."""
    header: BaseHeader = POLICY.header_factory("Reply-To", address)
    addresses = header.addresses if isinstance(header, AddressHeader) else ()
    if len(addresses) != 1 or not addresses[0].domain:
        raise MessageError("the reply-to address is not one mailbox such as ips@example.com")
    return str(addresses[0].addr_spec)


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
