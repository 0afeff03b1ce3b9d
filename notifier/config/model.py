"""The effective configuration as frozen values: sections, enums and the `Secret` wrapper.

Owns the shape and the defaults of every configuration key. Never reads files or the
environment (see `notifier.config.load`), and never lets a password reach a repr or a log.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from notifier.core.events import EventKind, Outcome
from notifier.core.ips_emails import IpsEmails
from notifier.core.jobs import JobType
from notifier.webhook.target import WebhookFormat, WebhookTarget, redacted

REDACTED = "***"


class Secret:
    """A password: `str()`, `repr()` and formatting show `***`; only `reveal()` gives the value.

    `source` says where it came from ("credential ips-password", "environment ...") so that
    operators can tell which of several places won, without seeing the value.
    """

    __slots__ = ("_source", "_value")

    def __init__(self, value: str = "", source: str = "") -> None:
        self._value = value
        self._source = source if value else ""

    @property
    def source(self) -> str:
        return self._source

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return REDACTED if self._value else ""

    def __repr__(self) -> str:
        return REDACTED if self._value else "''"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __copy__(self) -> Secret:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not pickled: it would carry the password in clear")


class Security(StrEnum):
    """How the SMTP connection is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


_DEFAULT_EVENTS = (EventKind.FINISHED, EventKind.STALLED)


@dataclass(frozen=True, slots=True)
class IpsConfig:
    url: str
    user: str
    password: Secret = field(default_factory=Secret)
    api_version: str = "2014-04-03"
    companies: tuple[str, ...] = ()
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class PollConfig:
    interval: float = 30.0
    finish_confirm_polls: int = 2
    stall_after: float = 1800.0
    progress_steps: tuple[int, ...] = (50,)
    max_backoff: float = 300.0


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    events: tuple[EventKind, ...] = _DEFAULT_EVENTS
    default_locale: str = "en"
    timezone: str = "UTC"
    job_types: tuple[JobType, ...] = ()
    deny: tuple[str, ...] = ()
    outcome_grace: float = 300.0
    submitter: bool = True
    reply_to: str = ""
    dmc_url: str = ""
    ips_emails: IpsEmails = IpsEmails.IGNORE


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """`sender` is the TOML key `from` (a Python keyword)."""

    sender: str
    host: str = "localhost"
    port: int = 25
    security: Security = Security.NONE
    user: str = ""
    password: Secret = field(default_factory=Secret)
    timeout: float = 30.0
    max_connections: int = 4
    max_backoff: float = 600.0
    max_age: float = 172800.0
    verify_tls: bool = True
    ca_file: Path | None = None
    message_id_domain: str = ""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """`url` "" is the SQLite file at `path`; a postgresql:// URL (never with a password in
    it: that is `password`) is the shared PostgreSQL store of several replicas, of which
    one polls, confirming its leadership within every `leader_lease` seconds. `keep_days`: how
    long sent, skipped and dead deliveries stay before they are pruned."""

    path: Path = Path("notifier.sqlite3")
    url: str = ""
    password: Secret = field(default_factory=Secret)
    leader_lease: float = 10.0
    keep_days: int = 30

    @property
    def is_postgres(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """`listen` is "host:port" ("[::1]:9478" for IPv6) or "" for no HTTP endpoint."""

    listen: str = "127.0.0.1:9478"

    @property
    def address(self) -> tuple[str, int] | None:
        return split_listen(self.listen) if self.listen else None


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: LogLevel = LogLevel.INFO
    format: LogFormat = LogFormat.TEXT


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """`after`: messages one recipient gets one by one within `window` seconds; 0 = never a
    digest."""

    after: int = 0
    window: float = 600.0


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """One `[[webhook]]`. `url` is a Secret: a webhook URL's path or query often is the
    credential (Slack, Teams), so only `shown_url` (scheme and host, the same as in every log
    line and error) is ever printed."""

    name: str
    url: Secret
    format: WebhookFormat = WebhookFormat.JSON
    secret: Secret = field(default_factory=Secret)
    timeout: float = 10.0

    @property
    def shown_url(self) -> str:
        return redacted(self.url.reveal())

    def target(self) -> WebhookTarget:
        """The webhook as the sender posts to it: URL and secret revealed."""
        return WebhookTarget(
            self.name, self.url.reveal(), self.format, self.secret.reveal(), self.timeout
        )


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One `[[route]]`. Empty `companies`, `job_types`, `outcomes`: all. `to`: email
    addresses and `webhook:<name>`s. `locale`: the language for these recipients."""

    to: tuple[str, ...]
    locale: str
    events: tuple[EventKind, ...] = _DEFAULT_EVENTS
    companies: tuple[str, ...] = ()
    job_types: tuple[JobType, ...] = ()
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    ips: IpsConfig
    smtp: SmtpConfig
    poll: PollConfig = field(default_factory=PollConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    log: LogConfig = field(default_factory=LogConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    routes: tuple[RouteConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()

    def secrets(self) -> tuple[Secret, ...]:
        """Every password, webhook secret and webhook URL in this configuration."""
        hooks = tuple(s for w in self.webhooks for s in (w.url, w.secret))
        return (self.ips.password, self.smtp.password, self.store.password, *hooks)

    def webhook(self, name: str) -> WebhookConfig | None:
        return next((w for w in self.webhooks if w.name == name), None)


def split_listen(listen: str) -> tuple[str, int]:
    """`"127.0.0.1:9478"` -> `("127.0.0.1", 9478)`, `"[::1]:80"` -> `("::1", 80)`.

    Raises ValueError for anything else.
    """
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isascii() or not port_text.isdigit():
        raise ValueError(listen)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or (":" in host and not listen.startswith("[")):
        raise ValueError(listen)
    port = int(port_text)
    if port > 65535:
        raise ValueError(listen)
    return host, port
