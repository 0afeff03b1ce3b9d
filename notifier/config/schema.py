"""Every configuration key: its section, its type, how its value is checked and converted.

Owns the rules a value must meet and the words that tell the operator what was expected.
Never reads files or the environment; `notifier.config.load` feeds it raw values.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from notifier.config.model import LogFormat, LogLevel, Security, split_listen
from notifier.core.events import EventKind
from notifier.core.ips_emails import IpsEmails
from notifier.core.jobs import JobType
from notifier.mail.i18n import CATALOGS, negotiate_locale

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class Invalid(ValueError):
    """A value breaks its key's rule; the message says what was expected."""


class Kind(StrEnum):
    """The TOML type of a key; says how an environment variable's text is parsed."""

    STR = "string"
    INT = "integer"
    FLOAT = "number"
    BOOL = "boolean"
    STR_LIST = "list of strings"
    INT_LIST = "list of integers"


@dataclass(frozen=True, slots=True)
class Key:
    """One TOML key. `field` is the dataclass field it fills ("" when the loader resolves it)."""

    section: str
    name: str
    field: str
    kind: Kind
    convert: Callable[[object], object]

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_var(self) -> str:
        return f"NOTIFIER_{self.section.upper()}_{self.name.upper()}"


def expected(what: str, value: object) -> Invalid:
    return Invalid(f"expected {what}, got {value!r}")


def _number(value: object, what: str, minimum: float, inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise expected(what, value)
    if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        raise expected(what, value)
    return float(value)


def seconds(value: object) -> float:
    return _number(value, "a number of seconds > 0", 0, inclusive=False)


def seconds_or_never(value: object) -> float:
    return _number(value, "a number of seconds >= 0 (0 = never)", 0, inclusive=True)


def whole(lo: int, hi: int) -> Callable[[object], int]:
    what = f"a whole number from {lo} to {hi}"

    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise expected(what, value)
        return value

    return convert


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise expected("true or false", value)
    return value


def text(value: object) -> str:
    if not isinstance(value, str):
        raise expected("a string in quotes", value)
    return value


def password(value: object) -> str:
    if not isinstance(value, str):
        # The value is not echoed: it may be the password written without quotes.
        raise Invalid("expected a string in quotes")
    return value


def non_empty(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise expected("a non-empty string in quotes", value)
    return value


def url(value: object) -> str:
    what = "an http:// or https:// URL with a host, without user or password in it"
    if not isinstance(value, str):
        raise expected(what, value)
    try:
        parts = urlsplit(value)
        has_host = bool(parts.hostname)
        _ = parts.port
    except ValueError as exc:
        raise expected(what, value) from exc
    if parts.scheme not in ("http", "https") or not has_host or "@" in parts.netloc:
        raise expected(what, value)
    return value


_STORE_URL = (
    'a postgresql:// URL such as "postgresql://notifier@db.example.com:5432/notifier", '
    'without a password in it, or "" for the SQLite file at store.path'
)
_STORE_LOGIN_HINT = (
    "give the password in NOTIFIER_STORE_PASSWORD, the credential store-password "
    "or store.password_file"
)


def store_url(value: object) -> str:
    """A PostgreSQL URL without a password (refused without echoing it), or ""."""
    if not isinstance(value, str):
        raise expected(_STORE_URL, value)
    if not value:
        return value
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        raise expected(_STORE_URL, redacted_url(value)) from exc
    if parts.password is not None or "password=" in parts.query.lower():
        raise Invalid(f"{redacted_url(value)} has a password in it: {_STORE_LOGIN_HINT}")
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or parts.query):
        raise expected(_STORE_URL, value)
    return value


def redacted_url(value: str) -> str:
    """`value` with any password in it (user:password@, ?password=) shown as ***."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "(a URL that does not parse)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':***' if colon else ''}@{hostport}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return parts._replace(netloc=netloc, query=query).geturl()


def leader_lease(value: object) -> float:
    return _number(value, "a number of seconds >= 1", 1, inclusive=True)


def api_version(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise expected('an API version date such as "2014-04-03"', value)
    return value


def optional_file(value: object) -> Path | None:
    """ "" means none; otherwise the file must be readable now, not at the first send."""
    if not isinstance(value, str):
        raise expected("a file path in quotes", value)
    if not value:
        return None
    path = Path(value)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise Invalid(
            f"cannot read {value!r}: {exc.strerror}; fix the path or permissions"
        ) from None
    return path


def path(value: object) -> Path:
    return Path(non_empty(value))


def choice(enum: type[E], exclude: Sequence[str] = ()) -> Callable[[object], E]:
    names = [m.value for m in enum if m.value not in exclude]
    what = "one of " + ", ".join(names)

    def convert(value: object) -> E:
        folded = value.lower() if isinstance(value, str) else value
        for member in enum:
            if member.value.lower() == folded and member.value in names:
                return member
        raise expected(what, value)

    return convert


def listed(item: Callable[[object], T], what: str) -> Callable[[object], tuple[T, ...]]:
    def convert(value: object) -> tuple[T, ...]:
        if not isinstance(value, list):
            raise expected(what, value)
        out: list[T] = []
        for element in value:
            try:
                converted = item(element)
            except Invalid as exc:
                raise expected(what, value) from exc
            if converted not in out:
                out.append(converted)
        return tuple(out)

    return convert


def locale(value: object) -> str:
    """A shipped catalog, matched as the emails match a job's locale (`pt-BR`, `en-US`, `zh-TW`)."""
    what = "one of the shipped catalogs " + ", ".join(CATALOGS) + " (pt-BR style is fine)"
    if not isinstance(value, str) or not value:
        raise expected(what, value)
    catalog = negotiate_locale(value, default="en")
    # negotiate_locale answers "en" for anything it cannot match: only an English tag may.
    if catalog == "en" and re.split(r"[-_]", value)[0].lower() != "en":
        raise expected(what, value)
    return catalog


def timezone(value: object) -> str:
    what = "an IANA time zone such as UTC or Europe/Berlin"
    if not isinstance(value, str) or not value:
        raise expected(what, value)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise expected(what, value) from exc
    return value


def sender(value: object) -> str:
    what = 'an address such as "IPS Jobs <ips-jobs@example.com>"'
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise expected(what, value)
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise expected(what, value)
    return value


def optional_sender(value: object) -> str:
    """ "" means none; otherwise an address as for smtp.from."""
    if value == "":
        return ""
    return sender(value)


def optional_url(value: object) -> str:
    """ "" means none."""
    if value == "":
        return ""
    return url(value)


def domain_or_empty(value: object) -> str:
    what = 'a full domain name such as "example.com", or "" for smtp.from\'s domain'
    if not isinstance(value, str):
        raise expected(what, value)
    labels = value.split(".")
    if value and (
        len(labels) < 2 or not all(re.fullmatch(r"[A-Za-z0-9-]{1,63}", p) for p in labels)
    ):
        raise expected(what, value)
    return value.lower()


def deny_entry(value: object) -> str:
    if not isinstance(value, str) or "@" not in value or any(c.isspace() for c in value):
        raise expected('an address or "@domain"', value)
    return value.lower()


def listen(value: object) -> str:
    what = 'host:port such as "127.0.0.1:9478" or "[::1]:9478", or "" for no HTTP endpoint'
    if not isinstance(value, str):
        raise expected(what, value)
    if value:
        try:
            split_listen(value)
        except ValueError as exc:
            raise expected(what, value) from exc
    return value


_PERCENT = listed(whole(1, 99), "a list of percentages, 1 to 99")
_PORT = whole(1, 65535)
_AT_LEAST_ONE = whole(1, 1_000_000)


def _progress_steps(value: object) -> tuple[int, ...]:
    return tuple(sorted(_PERCENT(value)))


def _keys(section: str, *specs: tuple[str, Kind, Callable[[object], object]]) -> tuple[Key, ...]:
    def field_of(name: str) -> str:
        return {"from": "sender", "password_file": ""}.get(name, name)

    return tuple(Key(section, name, field_of(name), kind, conv) for name, kind, conv in specs)


KEYS: tuple[Key, ...] = (
    *_keys(
        "ips",
        ("url", Kind.STR, url),
        ("user", Kind.STR, non_empty),
        ("password", Kind.STR, password),
        ("password_file", Kind.STR, optional_file),
        ("api_version", Kind.STR, api_version),
        ("companies", Kind.STR_LIST, listed(non_empty, "a list of company handles in quotes")),
        ("timeout", Kind.FLOAT, seconds),
        ("verify_tls", Kind.BOOL, boolean),
        ("ca_file", Kind.STR, optional_file),
    ),
    *_keys(
        "poll",
        ("interval", Kind.FLOAT, seconds),
        ("finish_confirm_polls", Kind.INT, _AT_LEAST_ONE),
        ("stall_after", Kind.FLOAT, seconds_or_never),
        ("progress_steps", Kind.INT_LIST, _progress_steps),
        ("max_backoff", Kind.FLOAT, seconds),
    ),
    *_keys(
        "notify",
        ("events", Kind.STR_LIST, listed(choice(EventKind), "a list of event kinds")),
        ("default_locale", Kind.STR, locale),
        ("timezone", Kind.STR, timezone),
        (
            "job_types",
            Kind.STR_LIST,
            listed(choice(JobType, exclude=[JobType.UNRECOGNIZED]), "a list of IPS job types"),
        ),
        ("deny", Kind.STR_LIST, listed(deny_entry, 'a list of addresses or "@domain"s')),
        ("outcome_grace", Kind.FLOAT, seconds),
        ("submitter", Kind.BOOL, boolean),
        ("reply_to", Kind.STR, optional_sender),
        ("dmc_url", Kind.STR, optional_url),
        ("ips_emails", Kind.STR, choice(IpsEmails)),
    ),
    *_keys(
        "smtp",
        ("host", Kind.STR, non_empty),
        ("port", Kind.INT, _PORT),
        ("security", Kind.STR, choice(Security)),
        ("user", Kind.STR, text),
        ("password", Kind.STR, password),
        ("password_file", Kind.STR, optional_file),
        ("from", Kind.STR, sender),
        ("timeout", Kind.FLOAT, seconds),
        ("max_connections", Kind.INT, _AT_LEAST_ONE),
        ("max_backoff", Kind.FLOAT, seconds),
        ("max_age", Kind.FLOAT, seconds),
        ("verify_tls", Kind.BOOL, boolean),
        ("ca_file", Kind.STR, optional_file),
        ("message_id_domain", Kind.STR, domain_or_empty),
    ),
    *_keys(
        "store",
        ("path", Kind.STR, path),
        ("url", Kind.STR, store_url),
        ("password", Kind.STR, password),
        ("password_file", Kind.STR, optional_file),
        ("leader_lease", Kind.FLOAT, leader_lease),
        ("keep_days", Kind.INT, whole(1, 36_500)),
    ),
    *_keys(
        "digest",
        ("after", Kind.INT, whole(0, 1_000_000)),
        ("window", Kind.FLOAT, seconds),
    ),
    *_keys("http", ("listen", Kind.STR, listen)),
    *_keys(
        "log",
        ("level", Kind.STR, choice(LogLevel)),
        ("format", Kind.STR, choice(LogFormat)),
    ),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(key.section for key in KEYS))
REQUIRED: tuple[str, ...] = ("ips.url", "ips.user", "smtp.from")


def find(section: str, name: str) -> Key | None:
    for key in KEYS:
        if key.section == section and key.name == name:
            return key
    return None


def names_in(section: str) -> list[str]:
    return [key.name for key in KEYS if key.section == section]
