"""Reads the configuration: the TOML file, `NOTIFIER_<SECTION>_<KEY>` overrides, password files
and systemd credentials, into one checked `Config`.

Owns where each value comes from and the `ConfigError` that names the file and the key.
Never logs or puts a password in an error message; never falls back silently to a default
when a value is present but wrong.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notifier.config import schema
from notifier.config.model import (
    Config,
    DigestConfig,
    HttpConfig,
    IpsConfig,
    LogConfig,
    NotifyConfig,
    PollConfig,
    Secret,
    SmtpConfig,
    StoreConfig,
)
from notifier.config.schema import Invalid, Key, Kind
from notifier.config.tables import TABLES, TableError, read_tables
from notifier.logs import register_secret

DEFAULT_PATH = Path("/etc/notifier/notifier.toml")
_SECTION_TYPES: dict[str, type[Any]] = {
    "ips": IpsConfig,
    "poll": PollConfig,
    "notify": NotifyConfig,
    "smtp": SmtpConfig,
    "store": StoreConfig,
    "http": HttpConfig,
    "log": LogConfig,
    "digest": DigestConfig,
}


class ConfigError(Exception):
    """The configuration cannot be used. The message names the file, the key and the fix."""

    def __init__(self, source: str | Path, key: str, problem: str) -> None:
        self.source = str(source)
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


@dataclass(frozen=True, slots=True)
class _Raw:
    """A value before conversion and where it came from: "" for the file, else the env var."""

    value: object
    env_var: str = ""


def config_path(path: str | Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """The file to read: `path`, else `$NOTIFIER_CONFIG`, else /etc/notifier/notifier.toml."""
    if path is not None and str(path):
        return Path(path)
    return Path(environ["NOTIFIER_CONFIG"]) if environ.get("NOTIFIER_CONFIG") else DEFAULT_PATH


def load_config(path: str | Path | None, environ: Mapping[str, str] = os.environ) -> Config:
    """Read, override, resolve passwords and check every key; raise ConfigError on any problem."""
    file = config_path(path, environ)
    document = _read_document(file)
    raw = _read_file(file, document)
    raw.update(_environment(file, environ))
    values = {key: _convert(file, key, item) for key, item in raw.items()}
    sections: dict[str, dict[str, object]] = {name: {} for name in schema.SECTIONS}
    for key, value in values.items():
        if key.field:
            sections[key.section][key.field] = value
    for name in ("ips", "smtp", "store"):
        sections[name]["password"] = _password(file, name, raw, values, environ)
    store = values.get(_key("store", "path"), StoreConfig().path)
    sections["store"]["path"] = _store_path(Path(str(store)), environ)
    for dotted in schema.REQUIRED:
        section, _, name = dotted.partition(".")
        if _key(section, name) not in values:
            env_var = _key(section, name).env_var
            raise ConfigError(file, dotted, f"required: set it in [{section}] or in {env_var}")
    built = {name: _SECTION_TYPES[name](**fields) for name, fields in sections.items()}
    notify: NotifyConfig = built["notify"]
    try:
        routes, webhooks = read_tables(
            document,
            default_events=notify.events,
            default_locale=notify.default_locale,
            environ=environ,
        )
    except TableError as exc:
        raise ConfigError(file, exc.where, exc.problem) from None
    config = Config(**built, routes=routes, webhooks=webhooks)
    for secret in config.secrets():
        register_secret(secret)  # redacted from every log line from now on
    for hook in webhooks:
        # A URL's path or query may be its credential, and errors may quote them alone.
        parts = urlsplit(hook.url.reveal())
        for part in (f"{parts.path}?{parts.query}", parts.path, parts.query):
            if part.strip("/?"):
                register_secret(part)
    return config


def _key(section: str, name: str) -> Key:
    key = schema.find(section, name)
    assert key is not None, f"{section}.{name} is not in the schema"
    return key


def _read_document(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            file, "", "no such file: create it from deploy/notifier.toml.example or pass -c FILE"
        ) from None
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"invalid TOML: {exc}; fix the syntax there") from None
    except UnicodeDecodeError:
        raise ConfigError(file, "", "invalid TOML: the file is not UTF-8") from None
    return document


def _read_file(file: Path, document: Mapping[str, Any]) -> dict[Key, _Raw]:
    found: dict[Key, _Raw] = {}
    for section, table in document.items():
        if section in TABLES:
            continue  # arrays of tables: notifier.config.tables reads them
        if section not in schema.SECTIONS:
            known = [*schema.SECTIONS, *TABLES]
            raise ConfigError(file, section, _unknown("section", section, known))
        if not isinstance(table, dict):
            raise ConfigError(file, section, f"expected a [{section}] table, got {table!r}")
        for name, value in table.items():
            key = schema.find(section, name)
            if key is None:
                known = schema.names_in(section)
                raise ConfigError(file, f"{section}.{name}", _unknown("key", name, known))
            found[key] = _Raw(value)
    return found


def _unknown(what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {what}; {hint}known: {', '.join(known)}"


def _environment(file: Path, environ: Mapping[str, str]) -> dict[Key, _Raw]:
    """`NOTIFIER_<SECTION>_<KEY>` for every known section; an unknown key there is an error."""
    found: dict[Key, _Raw] = {}
    for var, text in environ.items():
        section, _, name = var.removeprefix("NOTIFIER_").lower().partition("_")
        if not var.startswith("NOTIFIER_") or section not in schema.SECTIONS:
            continue
        key = schema.find(section, name)
        if key is None:
            known = [k.env_var for k in schema.KEYS if k.section == section]
            raise ConfigError(file, var, _unknown("environment variable", var, known))
        found[key] = _Raw(_parse_env(file, key, var, text), var)
    return found


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _parse_env(file: Path, key: Key, var: str, text: str) -> object:
    """Text to the key's TOML type. Text that does not parse is kept, and the key's rule
    rejects it with the usual message. Lists: a TOML array, or comma-separated items."""
    stripped = text.strip()
    if key.kind is Kind.BOOL:
        lowered = stripped.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if key.kind in (Kind.INT, Kind.FLOAT):
        return _number(stripped, key.kind) if stripped else text
    if key.kind in (Kind.STR_LIST, Kind.INT_LIST):
        if stripped.startswith("["):
            try:
                return tomllib.loads(f"value = {stripped}")["value"]
            except tomllib.TOMLDecodeError as exc:
                where = f"{key.dotted} (from {var})"
                raise ConfigError(file, where, f"not a TOML array: {exc}") from None
        items = [item.strip() for item in stripped.split(",") if item.strip()]
        return [_number(i, Kind.INT) for i in items] if key.kind is Kind.INT_LIST else items
    return text


def _number(text: str, kind: Kind) -> object:
    try:
        return int(text)
    except ValueError:
        pass
    if kind is Kind.FLOAT:
        try:
            return float(text)
        except ValueError:
            pass
    return text


def _convert(file: Path, key: Key, raw: _Raw) -> object:
    try:
        return key.convert(raw.value)
    except Invalid as exc:
        where = f"{key.dotted} (from {raw.env_var})" if raw.env_var else key.dotted
        raise ConfigError(file, where, str(exc)) from None


def _password(
    file: Path,
    section: str,
    raw: Mapping[Key, _Raw],
    values: Mapping[Key, object],
    environ: Mapping[str, str],
) -> Secret:
    """First of: the environment (value, then file), the systemd credential, the config file
    (value or file, not both)."""
    value_key, file_key = _key(section, "password"), _key(section, "password_file")
    for from_env in (True, False):
        given_value = value_key in raw and bool(raw[value_key].env_var) == from_env
        given_file = file_key in raw and bool(raw[file_key].env_var) == from_env
        if given_value and given_file and values[value_key] and values[file_key]:
            where = "the environment" if from_env else "the file"
            raise ConfigError(
                file,
                value_key.dotted,
                f"set in {where} both as password and as password_file: keep only one",
            )
        if given_value and values[value_key]:
            origin = f"environment {value_key.env_var}" if from_env else "configuration file"
            return Secret(str(values[value_key]), origin)
        if given_file and values[file_key]:
            secret_file = Path(str(values[file_key]))
            return Secret(_read_secret(file, file_key.dotted, secret_file), f"file {secret_file}")
        if from_env and (credential := _credential(file, section, environ)):
            return credential
    return Secret()


def _credential(file: Path, section: str, environ: Mapping[str, str]) -> Secret | None:
    directory = environ.get("CREDENTIALS_DIRECTORY")
    name = f"{section}-password"
    if not directory or not (Path(directory) / name).exists():
        return None
    where = f"{section}.password (credential {name})"
    # Empty counts as not given: the unit's SetCredential= default when the file is absent.
    value = _read_secret(file, where, Path(directory) / name, allow_empty=True)
    return Secret(value, f"credential {name}") if value else None


def _read_secret(file: Path, where: str, secret_file: Path, allow_empty: bool = False) -> str:
    try:
        content = secret_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            file, where, f"cannot read {str(secret_file)!r}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(file, where, f"{str(secret_file)!r} is not UTF-8 text") from None
    for ending in ("\r\n", "\n"):
        if content.endswith(ending):
            content = content[: -len(ending)]
            break
    if not content and not allow_empty:
        raise ConfigError(file, where, f"{str(secret_file)!r} is empty")
    return content


def _store_path(path: Path, environ: Mapping[str, str]) -> Path:
    """Relative paths are under the first $STATE_DIRECTORY (systemd), else the current one."""
    if path.is_absolute():
        return path
    state = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return (Path(state) if state else Path.cwd()) / path
