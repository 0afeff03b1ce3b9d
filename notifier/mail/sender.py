"""The SMTP sender: hands finished messages to the configured mail server, over aiosmtplib.

Owns the connections (a small pool, reused while they stay healthy), TLS (STARTTLS, implicit
TLS or none; certificates verified unless told otherwise), AUTH, timeouts, and the
classification of every failure into what the caller must do:

- `PermanentDeliveryError`: the server refused this message or recipient for good (5xx to
  RCPT or DATA, an address it cannot carry). Retrying will not help.
- `TemporaryDeliveryError`: this message may go through later (4xx in the transaction).
- `ServerUnavailableError` (temporary too): the server as a whole failed, so no message could
  have gone through: connection refused, timeouts, disconnects, 421, TLS or AUTH trouble.
  The first success after one of these means the outage is over.

Refusals before the mail transaction (greeting, EHLO, STARTTLS, AUTH), of the sender (MAIL),
and "530 authentication/STARTTLS required" are about the server or the configuration, not
about one message: every message would meet them, so they never kill a message.
Never renders messages, never decides about retries, never logs or repeats the password.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import aiosmtplib

from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.message import OutgoingEmail

log = logging.getLogger(__name__)

PROBE_AFTER = 2.0
"""Seconds a pooled connection may sit idle before it is checked with NOOP on reuse."""
MAX_IDLE = 60.0
"""Seconds after which an idle pooled connection is closed rather than reused."""
SERVICE_NOT_AVAILABLE = 421
AUTHENTICATION_REQUIRED = 530  # also "STARTTLS first"
SIZE_EXCEEDED = 552


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class DeliveryError(Exception):
    """Base of every error raised by notifier.mail's sender. `code` is the SMTP reply code."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TemporaryDeliveryError(DeliveryError):
    """Try this message again later."""


class ServerUnavailableError(TemporaryDeliveryError):
    """The mail server as a whole could not be used; nothing about this message. `where`
    names the server ("SMTP server mail.example.com:25"), never a credential."""

    def __init__(self, reason: str, code: int | None = None, *, where: str = "") -> None:
        super().__init__(reason, code)
        self.where = where


class PermanentDeliveryError(DeliveryError):
    """The server will not take this message: give it up, with the reason."""


class _StaleConnection(Exception):
    """A pooled connection turned out closed when used: retry once on a new one."""


@dataclass(slots=True)
class _Idle:
    client: aiosmtplib.SMTP
    since: float


class Mailer:
    """Sends OutgoingEmails; at most `max_connections` connections open at once."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: SmtpSecurity = SmtpSecurity.NONE,
        user: str = "",
        password: str = "",
        timeout: float = 30.0,
        max_connections: int = 4,
        verify_tls: bool = True,
        ca_file: str | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.host = host
        self.port = port
        self.security = SmtpSecurity(security)
        self.user = user
        self._password = password
        self.timeout = timeout
        self.max_connections = max_connections
        self.verify_tls = verify_tls
        self.ca_file = ca_file
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Idle] = []
        self._tls: ssl.SSLContext | None = None
        self._local_hostname: str | None = None
        self._closed = False
        if user and self.security is SmtpSecurity.NONE:
            log.warning("SMTP login of %r will cross the network unencrypted (security none)", user)

    def __repr__(self) -> str:
        return (
            f"Mailer({self.host!r}, {self.port}, security={self.security.value!r}, "
            f"user={self.user!r}, max_connections={self.max_connections})"
        )

    async def send(self, message: OutgoingEmail, *, recipients: Sequence[str] | None = None) -> str:
        """Send `message`; the server's reply to it. Raises a DeliveryError subclass.

        The envelope recipients are `recipients` if given, else the message's recipient,
        each in its envelope form (mail/addresses.py).
        """
        sender, envelope_to = _envelope(message, recipients)
        async with self._slots:
            client, reused = await self._checkout()
            try:
                return await self._transmit(client, message, sender, envelope_to, reused=reused)
            except _StaleConnection:
                # The server closed the pooled connection (a restart, an idle timeout) before
                # we noticed. Almost always before this message began; were it mid-message,
                # the resend is a duplicate its Message-ID makes recognisable.
                log.debug("pooled SMTP connection was closed by the server; reconnecting")
            client = await self._connect()
            return await self._transmit(client, message, sender, envelope_to, reused=False)

    async def _transmit(
        self,
        client: aiosmtplib.SMTP,
        message: OutgoingEmail,
        sender: str,
        recipients: list[str],
        *,
        reused: bool,
    ) -> str:
        reusable = False
        try:
            options = await _mail_options(client, message.data, sender, recipients)
            refused, reply = await client.sendmail(
                sender, recipients, message.data, mail_options=options
            )
            reusable = True
        except (aiosmtplib.SMTPServerDisconnected, ConnectionResetError) as exc:
            if reused:
                raise _StaleConnection from exc
            raise self._classify(exc) from exc
        except aiosmtplib.SMTPException as exc:
            reusable = _transaction_refusal(exc)
            raise self._classify(exc) from exc
        except (OSError, ValueError) as exc:
            raise self._classify(exc) from exc
        finally:
            self._checkin(client, reusable)
        if refused:
            address, answer = next(iter(refused.items()))
            refusal = aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, address)
            raise self._classify(refusal)
        return reply

    async def check_connection(self) -> str:
        """Connect, EHLO, STARTTLS and AUTH as configured, then QUIT; what the server said."""
        client = await self._connect()
        try:
            reply = client.last_ehlo_response
            if reply is None:
                reply = await client.ehlo()
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise self._unavailable(exc) from exc
        return f"{reply.code} {reply.message.splitlines()[0] if reply.message else ''}".strip()

    async def close(self) -> None:
        """Close the pooled connections (politely when they still answer)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for entry in idle:
            try:
                await asyncio.wait_for(entry.client.quit(), timeout=min(self.timeout, 5.0))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                log.debug("SMTP connection closed without QUIT: %s", self._scrub(str(exc)))
            finally:
                entry.client.close()

    # --- the pool ---------------------------------------------------------------------

    async def _checkout(self) -> tuple[aiosmtplib.SMTP, bool]:
        """A pooled connection that still answers (and True), or a new one (and False)."""
        loop = asyncio.get_running_loop()
        while self._idle:
            entry = self._idle.pop()
            idle_for = loop.time() - entry.since
            if not entry.client.is_connected or idle_for > MAX_IDLE:
                entry.client.close()
                continue
            if idle_for > PROBE_AFTER and not await _answers(entry.client):
                continue
            return entry.client, True
        return await self._connect(), False

    def _checkin(self, client: aiosmtplib.SMTP, reusable: bool) -> None:
        if reusable and client.is_connected and not self._closed:
            self._idle.append(_Idle(client, asyncio.get_running_loop().time()))
        else:
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            local_hostname=await self._local_name(),
            use_tls=self.security is SmtpSecurity.TLS,
            start_tls=self.security is SmtpSecurity.STARTTLS,
            tls_context=await self._tls_context()
            if self.security is not SmtpSecurity.NONE
            else None,
            username=self.user or None,
            password=self._password if self.user else None,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            client.close()
            raise self._unavailable(exc) from exc
        return client

    async def _local_name(self) -> str:
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = await asyncio.to_thread(self._build_tls_context)
        return self._tls

    def _build_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        if not self.verify_tls:
            log.warning("TLS certificate of SMTP server %s is not verified", self.host)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # --- classification ---------------------------------------------------------------

    def _classify(self, exc: BaseException) -> DeliveryError:
        """What a failure during the mail transaction means for this message."""
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
            exc = exc.recipients[0]
        if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
            return PermanentDeliveryError(self._scrub(f"message not accepted: {exc}"))
        if isinstance(exc, _TRANSACTION_REFUSALS):
            reason = self._scrub(_reply_text(exc))
            if _about_the_session(exc):
                return ServerUnavailableError(reason, exc.code, where=self.where)
            if 500 <= exc.code < 600:
                return PermanentDeliveryError(reason, exc.code)
            return TemporaryDeliveryError(reason, exc.code)
        return self._unavailable(exc)

    @property
    def where(self) -> str:
        """The server as logs and /readyz name it."""
        return f"SMTP server {self.host}:{self.port}"

    def _unavailable(self, exc: BaseException) -> ServerUnavailableError:
        where = self.where
        code = exc.code if isinstance(exc, aiosmtplib.SMTPResponseException) else None
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            text = f"{where} refused the login of user {self.user!r}: {_reply_text(exc)}"
        elif isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            text = f"{where} did not answer within {self.timeout:g}s"
        elif isinstance(exc, aiosmtplib.SMTPResponseException):
            text = f"{where} refused the session: {_reply_text(exc)}"
        else:
            text = f"{where} unavailable: {exc or type(exc).__name__}"
        return ServerUnavailableError(self._scrub(text), code, where=where)

    def _scrub(self, text: str) -> str:
        """The text with the password (should a server ever echo it) blanked out."""
        return text.replace(self._password, "***") if self._password else text


_TRANSACTION_REFUSALS = (
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPDataError,
)


def _transaction_refusal(exc: BaseException) -> bool:
    """True when the server answered a transaction command and is still usable after RSET."""
    return isinstance(exc, (*_TRANSACTION_REFUSALS, aiosmtplib.SMTPRecipientsRefused))


def _about_the_session(exc: aiosmtplib.SMTPResponseException) -> bool:
    """True for refusals that every message would meet: closing down, TLS or AUTH required,
    or the sender refused (except for this message's size)."""
    if exc.code in (SERVICE_NOT_AVAILABLE, AUTHENTICATION_REQUIRED):
        return True
    return isinstance(exc, aiosmtplib.SMTPSenderRefused) and exc.code != SIZE_EXCEEDED


def _reply_text(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


async def _answers(client: aiosmtplib.SMTP) -> bool:
    """NOOP on an idle connection: is it still usable? Closes it when not."""
    try:
        await client.noop()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
        return False
    return True


async def _mail_options(
    client: aiosmtplib.SMTP, data: bytes, sender: str, recipients: list[str]
) -> list[str]:
    """MAIL FROM parameters: SMTPUTF8 when an address or the message needs it, which the
    server must then offer (its absence is this message's problem, not the server's)."""
    if data.isascii() and sender.isascii() and all(r.isascii() for r in recipients):
        return []
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    if not client.supports_extension("smtputf8"):
        raise aiosmtplib.SMTPNotSupported(
            "an address needs SMTPUTF8, which this mail server does not offer"
        )
    options = ["SMTPUTF8"]
    if client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


def _envelope(message: OutgoingEmail, recipients: Sequence[str] | None) -> tuple[str, list[str]]:
    sender = message.sender
    raw = list(recipients) if recipients is not None else [message.recipient]
    if not sender:
        raise PermanentDeliveryError("message has no From address")
    if not raw:
        raise PermanentDeliveryError("message has no recipient")
    try:
        return sender, [validate_address(address) for address in raw]
    except InvalidAddress as exc:
        raise PermanentDeliveryError(f"invalid recipient address: {exc.reason}") from exc
