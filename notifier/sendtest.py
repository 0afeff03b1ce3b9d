"""`notifier send-test`: one sample email to an address of the operator's choice, through the
configured relay, to prove that mail goes out before any job needs it.

Owns the wording of the result: what the server answered, and on failure what to check. The
sample is the one `notifier preview` renders, sent with the configured From, language
fallback and time zone, and a Message-ID of its own each time (so that a server which drops
repeated Message-IDs never drops a second test). Never touches the store or IPS.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TextIO

from notifier.config import Config
from notifier.core.events import EventKind, Outcome
from notifier.delivery.channel import Item
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.channel import localized_message
from notifier.mail.message import OutgoingEmail
from notifier.mail.preview import sample_completion, sample_event
from notifier.mail.sender import (
    DeliveryError,
    PermanentDeliveryError,
    ServerUnavailableError,
)
from notifier.wiring import email_settings, mailer

EXIT_OK = 0
EXIT_FAILED = 1


class SendTestUsageError(ValueError):
    """The address, event or locale asked for cannot make a test email."""


async def send_test(config: Config, to: str, locale: str | None, kind: str, out: TextIO) -> int:
    """Send the sample email for `kind` in `locale` to `to`; the exit status."""
    message = _sample_message(config, to, locale, kind)
    smtp = mailer(config)
    where = f"{config.smtp.host}:{config.smtp.port} ({config.smtp.security.value})"
    try:
        reply = await smtp.send(message)
    except DeliveryError as exc:
        out.write(f"send-test to {to} through {where}: FAILED\n")
        said = "the server's answer" if exc.code is not None else "what happened"
        out.write(f"  {said}: {exc.reason}\n")
        out.write(f"  check: {_advice(config, to, exc)}\n")
        return EXIT_FAILED
    finally:
        await smtp.close()
    out.write(
        f"send-test to {to} through {where}: accepted: {reply.strip() or 'OK'}\n"
        f"  Message-ID {message.message_id}; look for it in the mailbox (and its spam folder)\n"
    )
    return EXIT_OK


def _sample_message(config: Config, to: str, locale: str | None, kind: str) -> OutgoingEmail:
    try:
        validate_address(to)
    except InvalidAddress as exc:
        raise SendTestUsageError(
            f"--to {to!r} is not an address that can be mailed: {exc}"
        ) from None
    try:
        event_kind = EventKind(kind)
    except ValueError:
        valid = ", ".join(k.value for k in EventKind)
        raise SendTestUsageError(f"unknown event {kind!r}; valid events: {valid}") from None
    event = sample_event(event_kind, locale)
    event = replace(
        event,
        id=f"send-test-{secrets.token_hex(8)}",
        job=replace(event.job, submit_user_email=to),
    )
    completion = sample_completion(Outcome.SUCCEEDED) if event_kind is EventKind.FINISHED else None
    # Built as the daemon's email channel builds it, from the same settings.
    return localized_message(
        Item(event, completion), to=to, locale=None, settings=email_settings(config)
    )


def _advice(config: Config, to: str, exc: DeliveryError) -> str:
    smtp = config.smtp
    if isinstance(exc, ServerUnavailableError):
        return (
            f"that smtp.host and smtp.port ({smtp.host}:{smtp.port}) name your relay and that it "
            f"runs and lets this machine connect; that smtp.security ({smtp.security.value}) is "
            "what that port speaks (465: tls, 587: starttls, 25: none or starttls); smtp.user "
            "and the SMTP password if it wants a login; smtp.verify_tls and smtp.ca_file for "
            "its certificate. `notifier check-config --connect` tries the login alone"
        )
    if isinstance(exc, PermanentDeliveryError):
        return (
            f"the address {to}; that the relay accepts mail for its domain from this host "
            f"(relaying rules, or a login in smtp.user); that smtp.from ({smtp.sender}) is a "
            "sender it allows"
        )
    return (
        "the server asks to try again later (greylisting, a full queue, a rate limit): run "
        "send-test again in a few minutes; the daemon retries such emails by itself"
    )
