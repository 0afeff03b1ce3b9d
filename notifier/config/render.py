"""Shows the effective configuration for `notifier check-config`: secrets as `***` with the
place each came from, as a dict or as TOML text.

Owns the printable form only. Never reveals a `Secret`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

from notifier.config import schema
from notifier.config.model import REDACTED, Config, Secret

Table = Mapping[str, object]


def redacted(config: Config) -> dict[str, Table | list[Table]]:
    """Section -> TOML key -> value, with passwords as "*** (from credential ips-password)";
    `route` and `webhook` are lists of tables, webhook URLs shown as scheme and host only."""
    out: dict[str, Table | list[Table]] = {}
    sections: dict[str, dict[str, object]] = {}
    for key in schema.KEYS:
        if not key.field:
            continue
        value = getattr(getattr(config, key.section), key.field)
        sections.setdefault(key.section, {})[key.name] = _printable(value)
    out.update(sections)
    routes: list[Table] = [
        {name: _printable(getattr(route, name)) for name in _ROUTE_KEYS} for route in config.routes
    ]
    hooks: list[Table] = [
        {
            "name": hook.name,
            "url": hook.shown_url,
            "format": hook.format.value,
            "secret": _printable(hook.secret),
            "timeout": hook.timeout,
        }
        for hook in config.webhooks
    ]
    if routes:
        out["route"] = routes
    if hooks:
        out["webhook"] = hooks
    return out


_ROUTE_KEYS = ("companies", "job_types", "events", "outcomes", "to", "locale")


def _printable(value: object) -> object:
    if isinstance(value, Secret):
        return f"{REDACTED} (from {value.source})" if value else "(not set)"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, tuple):
        return [_printable(item) for item in value]
    return value


def to_toml(document: Mapping[str, Table | list[Table]]) -> str:
    """A TOML rendering of `redacted(...)`: tables and arrays of tables of strings, numbers,
    booleans and lists."""
    lines: list[str] = []
    for section, tables in document.items():
        many = isinstance(tables, list)
        for table in tables if isinstance(tables, list) else [tables]:
            if lines:
                lines.append("")
            lines.append(f"[[{section}]]" if many else f"[{section}]")
            lines.extend(f"{name} = {_value(value)}" for name, value in table.items())
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
