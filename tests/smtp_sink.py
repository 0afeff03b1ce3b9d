"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in its own thread and event loop.

It records every message with its envelope, can refuse the next messages or given recipients
with any reply code, can be slow, can be stopped and started again on the same port (an
outage), speaks STARTTLS or implicit TLS with a certificate issued by a throwaway CA, can
require AUTH, and counts the connections it accepted (total and the most at once).
It never listens on anything but the loopback address.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


class SinkTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A CA certificate (what a client must trust) and a server certificate it issued."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    """Issue a server certificate for 127.0.0.1 and localhost from a new self-signed CA."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "notifier test CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address(HOST))]
    )
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        _builder(name, ca_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass(slots=True)
class _Refusal:
    code: int
    text: str
    remaining: int | None  # None: every time


@dataclass(slots=True)
class _SinkState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[ReceivedMessage] = field(default_factory=list)
    next_data: list[_Refusal] = field(default_factory=list)
    recipients: dict[str, _Refusal] = field(default_factory=dict)
    delay: float = 0.0
    live: set[int] = field(default_factory=set)
    accepted: int = 0
    peak: int = 0
    failed_logins: int = 0


class _Handler:
    def __init__(self, state: _SinkState) -> None:
        self._state = state

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        with self._state.lock:
            refusal = self._state.recipients.get(address.lower())
        if refusal is not None:
            return f"{refusal.code} {refusal.text}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._state.lock:
            delay = self._state.delay
        if delay:
            await asyncio.sleep(delay)
        with self._state.lock:
            if self._state.next_data:
                refusal = self._state.next_data[0]
                assert refusal.remaining is not None
                refusal.remaining -= 1
                if refusal.remaining <= 0:
                    self._state.next_data.pop(0)
                return f"{refusal.code} {refusal.text}"
            auth: Any = session.auth_data
            login = auth.login.decode() if session.authenticated else None
            content = envelope.original_content or envelope.content or b""
            assert isinstance(content, bytes)
            self._state.messages.append(
                ReceivedMessage(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=content,
                    tls=server.transport is not None
                    and server.transport.get_extra_info("ssl_object") is not None,
                    login=login,
                )
            )
            number = len(self._state.messages)
        return f"250 2.0.0 Ok: queued as {number}"


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP session that keeps count of the connections open at once."""

    def __init__(self, state: _SinkState, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink_state = state
        with state.lock:
            state.accepted += 1
            state.live.add(id(self))
            state.peak = max(state.peak, len(state.live))

    def connection_lost(self, error: Exception | None) -> None:
        with self._sink_state.lock:
            self._sink_state.live.discard(id(self))
        super().connection_lost(error)


class _Controller(Controller):
    """Serves on a socket bound beforehand, so that a restart keeps the port."""

    def __init__(self, sock: socket.socket, state: _SinkState, **kwargs: Any) -> None:
        self._sock = sock
        self._state = state
        self.sessions: list[SMTP] = []
        super().__init__(hostname=HOST, port=sock.getsockname()[1], **kwargs)

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # Implicit TLS with AUTH: aiosmtpd warns as if the session were in clear text.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            session = _CountingSMTP(self._state, self.handler, **self.SMTP_kwargs)
        self.sessions.append(session)
        return session

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def drop_connections(self) -> None:
        """Close every client connection from the server side, as a crashing server would."""

        async def drop() -> None:
            for session in self.sessions:
                if session.transport is not None:
                    session.transport.close()

        asyncio.run_coroutine_threadsafe(drop(), self.loop).result(timeout=5)


class SmtpSink:
    """The test SMTP server. Use `with SmtpSink(...) as sink:` or start()/stop()."""

    def __init__(
        self,
        *,
        tls: SinkTls = SinkTls.NONE,
        tls_files: TlsFiles | None = None,
        logins: dict[str, str] | None = None,
        smtputf8: bool = True,
    ) -> None:
        if tls is not SinkTls.NONE and tls_files is None:
            raise ValueError("TLS needs tls_files (make_tls_files)")
        self.tls = tls
        self._tls_files = tls_files
        self._logins = logins
        self._smtputf8 = smtputf8
        self._state = _SinkState()
        self._controller: _Controller | None = None
        self.host = HOST
        self.port = 0

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._controller is not None:
            self.stop()

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Listen (again) on the same port as before, or on a free one the first time."""
        assert self._controller is None, "already running"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        with self._state.lock:
            accepted_before = self._state.accepted
        controller = _Controller(sock, self._state, handler=_Handler(self._state), **self._smtp())
        controller.start()
        self._controller = controller
        # The controller's own readiness probe is a connection too: do not count it. Wait
        # for the probe alone, not for every connection to close: a client that reconnects
        # at once (a daemon retrying) may already be in.
        self._wait(lambda: self._state.accepted > accepted_before, "the readiness probe")
        # Let the probe leave before peaks count again, but do not insist: a client that
        # reconnected at once keeps `live` from ever emptying.
        with contextlib.suppress(AssertionError):
            self._wait(lambda: not self._state.live, "the probe to leave", timeout=1.0)
        with self._state.lock:
            self._state.accepted -= 1
            self._state.peak = 0

    def stop(self) -> None:
        """Stop listening and drop every open connection: the server is down."""
        assert self._controller is not None, "not running"
        self._controller.drop_connections()
        self._controller.stop()
        self._controller = None
        with self._state.lock:
            self._state.live.clear()

    def _smtp(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "server_hostname": "sink.test",
            "ready_timeout": 10.0,
            "enable_SMTPUTF8": self._smtputf8,
        }
        if self.tls is SinkTls.STARTTLS:
            assert self._tls_files is not None
            kwargs.update(tls_context=self._tls_files.server_context(), require_starttls=True)
        elif self.tls is SinkTls.IMPLICIT:
            assert self._tls_files is not None
            # aiosmtpd only counts STARTTLS as TLS when it decides whether AUTH is safe.
            kwargs.update(ssl_context=self._tls_files.server_context(), auth_require_tls=False)
        if self._logins is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        return kwargs

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self._logins is not None
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self._logins.get(user) == password:
                return AuthResult(success=True, auth_data=auth_data)
        with self._state.lock:
            self._state.failed_logins += 1
        return AuthResult(success=False, handled=False)

    # --- behaviour --------------------------------------------------------------------

    def refuse_next(self, count: int, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer `code text` to the end of DATA of the next `count` messages."""
        with self._state.lock:
            self._state.next_data.append(_Refusal(code, text, count))

    def refuse_recipient(
        self, address: str, code: int = 550, text: str = "5.1.1 No such user"
    ) -> None:
        """Answer `code text` to every RCPT TO for this address (case-insensitive)."""
        with self._state.lock:
            self._state.recipients[address.lower()] = _Refusal(code, text, None)

    def accept_recipient(self, address: str) -> None:
        with self._state.lock:
            self._state.recipients.pop(address.lower(), None)

    def set_delay(self, seconds: float) -> None:
        """Wait this long before answering the end of each DATA."""
        with self._state.lock:
            self._state.delay = seconds

    # --- observations -----------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._state.lock:
            return list(self._state.messages)

    @property
    def connections_accepted(self) -> int:
        with self._state.lock:
            return self._state.accepted

    @property
    def peak_connections(self) -> int:
        """The most client connections that were open at the same time."""
        with self._state.lock:
            return self._state.peak

    @property
    def open_connections(self) -> int:
        with self._state.lock:
            return len(self._state.live)

    @property
    def failed_logins(self) -> int:
        with self._state.lock:
            return self._state.failed_logins

    async def wait_for_messages(self, count: int, within: float = 10.0) -> list[ReceivedMessage]:
        """Wait until at least `count` messages arrived; fail after `within` seconds."""
        deadline = time.monotonic() + within
        while len(received := self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(received)} of {count} messages arrived in {within}s")
            await asyncio.sleep(0.01)
        return received

    def _wait(self, condition: Any, what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.005)


@contextmanager
def running_sink(**kwargs: Any) -> Iterator[SmtpSink]:
    with SmtpSink(**kwargs) as sink:
        yield sink
