"""The arrays of tables: `[[route]]` (who hears of which events) and `[[webhook]]` (where
webhooks post), read from the TOML document and checked against each other.

Owns their keys, defaults and rules, and the errors that name the table by its position
(`route[2].to`) or its name (`webhook "ops".url`). Never logs or puts a webhook URL or
secret in an error message; never reads the environment except for systemd credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from notifier.config.model import RouteConfig, Secret, WebhookConfig
from notifier.config.schema import (
    Invalid,
    choice,
    listed,
    locale,
    non_empty,
    optional_file,
    password,
    seconds,
    url,
)
from notifier.core.events import EventKind, Outcome
from notifier.core.jobs import JobType
from notifier.core.routing import WEBHOOK_PREFIX
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.webhook.target import WebhookFormat

TABLES = ("route", "webhook")
WEBHOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

ROUTE_KEYS: dict[str, Callable[[object], object]] = {
    "companies": listed(non_empty, "a list of company handles in quotes ([] = all)"),
    "job_types": listed(
        choice(JobType, exclude=[JobType.UNRECOGNIZED]), "a list of IPS job types ([] = all)"
    ),
    "events": listed(choice(EventKind), "a list of event kinds"),
    "outcomes": listed(choice(Outcome), "a list of outcomes of finished jobs ([] = all)"),
    "to": listed(non_empty, 'a list of email addresses and "webhook:<name>"s'),
    "locale": locale,
}
WEBHOOK_KEYS = ("name", "url", "format", "secret", "secret_file", "timeout")


class TableError(ValueError):
    """A table breaks a rule; `where` names it and its key ("route[1].to")."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def read_tables(
    document: Mapping[str, Any],
    *,
    default_events: tuple[EventKind, ...],
    default_locale: str,
    environ: Mapping[str, str],
) -> tuple[tuple[RouteConfig, ...], tuple[WebhookConfig, ...]]:
    """The routes and webhooks of the document, or TableError."""
    webhooks = tuple(
        _webhook(i, table, environ) for i, table in enumerate(_tables(document, "webhook"), 1)
    )
    names = [w.name for w in webhooks]
    folded = [name.casefold() for name in names]
    for name in names:
        if folded.count(name.casefold()) > 1:
            # Recipients compare case-insensitively, so "Ops" and "ops" would be one.
            raise TableError(f'webhook "{name}"', "two webhooks have this name: rename one")
    routes = tuple(
        _route(i, table, default_events, default_locale, set(names))
        for i, table in enumerate(_tables(document, "route"), 1)
    )
    return routes, webhooks


def _tables(document: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    found = document.get(name, [])
    if not isinstance(found, list) or not all(isinstance(t, dict) for t in found):
        raise TableError(name, f"expected [[{name}]] tables (an array of tables)")
    return found


def _route(
    index: int,
    table: dict[str, Any],
    default_events: tuple[EventKind, ...],
    default_locale: str,
    webhooks: set[str],
) -> RouteConfig:
    where = f"route[{index}]"
    values: dict[str, Any] = {}
    for name, value in table.items():
        convert = ROUTE_KEYS.get(name)
        if convert is None:
            raise TableError(f"{where}.{name}", f"unknown key; known: {', '.join(ROUTE_KEYS)}")
        values[name] = _checked(f"{where}.{name}", convert, value)
    to = values.get("to", ())
    if not to:
        raise TableError(f"{where}.to", "required: the recipients of this route")
    for entry in to:
        _recipient(f"{where}.to", entry, webhooks)
    return RouteConfig(
        to=to,
        locale=values.get("locale", default_locale),
        events=values.get("events", default_events),
        companies=values.get("companies", ()),
        job_types=values.get("job_types", ()),
        outcomes=values.get("outcomes", ()),
    )


def _recipient(where: str, entry: str, webhooks: set[str]) -> None:
    if entry.startswith(WEBHOOK_PREFIX):
        name = entry[len(WEBHOOK_PREFIX) :]
        if name not in webhooks:
            known = ", ".join(sorted(webhooks)) or "none"
            raise TableError(
                where, f"no [[webhook]] named {name!r} (known: {known}): add it or fix the name"
            )
        return
    try:
        validate_address(entry)
    except InvalidAddress as exc:
        raise TableError(where, f"{entry!r} is not an email address: {exc.reason}") from None


def _webhook(index: int, table: dict[str, Any], environ: Mapping[str, str]) -> WebhookConfig:
    where = f"webhook[{index}]"
    for key in table:
        if key not in WEBHOOK_KEYS:
            raise TableError(f"{where}.{key}", f"unknown key; known: {', '.join(WEBHOOK_KEYS)}")
    name = table.get("name")
    if not isinstance(name, str) or not WEBHOOK_NAME.fullmatch(name):
        raise TableError(
            f"{where}.name",
            "required: a name of letters, digits, '_', '.' or '-' (to = "
            '["webhook:<name>"] refers to it)',
        )
    where = f'webhook "{name}"'
    if "url" not in table:
        raise TableError(f"{where}.url", "required: the https:// URL to post to")
    try:
        address = url(table["url"])
    except Invalid:
        # Never echo the value: a webhook URL carries its credential.
        raise TableError(
            f"{where}.url", "expected an http:// or https:// URL with a host, without user info"
        ) from None
    fmt = _checked(f"{where}.format", choice(WebhookFormat), table.get("format", "json"))
    timeout = _checked(f"{where}.timeout", seconds, table.get("timeout", 10.0))
    return WebhookConfig(
        name=name,
        url=Secret(address, "configuration file"),
        format=fmt,
        secret=_secret(where, name, table, environ),
        timeout=timeout,
    )


def _secret(where: str, name: str, table: dict[str, Any], environ: Mapping[str, str]) -> Secret:
    """First of: the systemd credential webhook-<name>, secret_file, secret (not both)."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    credential = Path(directory) / f"webhook-{name}" if directory else None
    if credential is not None and credential.exists():
        value = _read(f"{where}.secret (credential webhook-{name})", credential)
        if value:
            return Secret(value, f"credential webhook-{name}")
    given = _checked(f"{where}.secret", password, table.get("secret", ""))
    file = _checked(f"{where}.secret_file", optional_file, table.get("secret_file", ""))
    if given and file is not None:
        raise TableError(f"{where}.secret", "set both as secret and as secret_file: keep one")
    if file is not None:
        value = _read(f"{where}.secret_file", file)
        if not value:
            raise TableError(f"{where}.secret_file", f"{str(file)!r} is empty")
        return Secret(value, f"file {file}")
    return Secret(str(given), "configuration file") if given else Secret()


def _read(where: str, file: Path) -> str:
    try:
        content = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TableError(where, f"cannot read {str(file)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TableError(where, f"{str(file)!r} is not UTF-8 text") from None
    return content.removesuffix("\n").removesuffix("\r")


def _checked(where: str, convert: Callable[[object], Any], value: object) -> Any:
    try:
        return convert(value)
    except Invalid as exc:
        raise TableError(where, str(exc)) from None
