"""Broken configuration files: the command exits 2 with a message naming the file and the key.

Every key of the schema gets values of every wrong TOML type (and hypothesis adds random
ones); the loader must answer with a ConfigError naming that key, or accept a value that is
right, never anything else, and never echo a password. Broken TOML syntax and wrong types
also go through the real `notifier run` and `notifier check-config` processes: exit 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.cli import main
from notifier.config import ConfigError, load_config
from notifier.config.schema import KEYS, Key
from tests.reliability.conftest import IPS_PASSWORD, ROOT, record_figure, render_config

VALID = {
    "ips": {"url": "http://127.0.0.1:9/scene7/services/IpsApiService", "user": "u@example.com"},
    "smtp": {"from": "IPS Jobs <ips-jobs@example.com>"},
}
WRONG_VALUES: tuple[Any, ...] = (
    "fast", "", 25, -1, 0, 1.5, float("inf"), True, ["a", 1], [150], {"nested": 1}, "x" * 5000,
)  # fmt: skip
BROKEN_TOML = (
    "[ips\nurl = 1",
    "[ips]\nurl = 'unterminated",
    '[ips]\nuser = "a"\nuser = "b"',
    "\x00\x01binary",
    "[poll]\ninterval = 0x",
    "[smtp]\nport = 25 25",
)


def write(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    path.write_text(render_config(sections))
    return path


def with_value(key: Key, value: Any) -> dict[str, dict[str, Any]]:
    sections = {name: dict(keys) for name, keys in VALID.items()}
    sections.setdefault(key.section, {})[key.name] = value
    return sections


def toml_text(sections: dict[str, dict[str, Any]]) -> str:
    """Like render_config, but tables and inf as TOML writes them."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        for name, value in keys.items():
            lines.append(f"{name} = {toml_literal(value)}")
    return "\n".join(lines) + "\n"


def toml_literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and value == float("inf"):
        return "inf"
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return render_config({"s": {"k": value}}).split(" = ", 1)[1].strip()


def verdict(path: Path, key: Key, value: Any) -> str:
    """ "ok" or "refused"; anything else fails the test."""
    path.write_text(toml_text(with_value(key, value)))
    try:
        load_config(path, environ={})
    except ConfigError as exc:
        assert str(path) in str(exc)
        assert key.dotted in str(exc) or key.section in str(exc), str(exc)
        if key.name == "password":
            assert not isinstance(value, str) or len(value) < 4 or value not in str(exc)
        return "refused"
    return "ok"


def test_every_key_with_every_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "notifier.toml"
    tally = {"ok": 0, "refused": 0}
    for key in KEYS:
        for value in WRONG_VALUES:
            tally[verdict(path, key, value)] += 1
    record_figure(
        f"config: {len(KEYS)} keys x {len(WRONG_VALUES)} wrong-typed values: "
        f"{tally['refused']} refused naming file and key, {tally['ok']} valid as given, "
        "0 other errors"
    )
    assert tally["refused"] > tally["ok"]


toml_values = st.recursive(
    st.none().map(lambda _: "") | st.booleans() | st.integers() | st.text(max_size=30)
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(KEYS), toml_values)
def test_random_values_are_accepted_or_named(tmp_path_factory: Any, key: Key, value: Any) -> None:
    path = tmp_path_factory.mktemp("config") / "notifier.toml"
    verdict(path, key, value)


@pytest.mark.parametrize("text", BROKEN_TOML)
def test_broken_toml_exits_2(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notifier.toml"
    path.write_text(text)
    assert main(["check-config", "-c", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "section", "values"),
    [
        ("run", "poll", {"interval": "fast"}),
        ("check-config", "smtp", {"port": "25"}),
        ("run", "ips", {"password": 12345}),
    ],
)
def test_the_real_command_exits_2(
    tmp_path: Path, command: str, section: str, values: dict[str, Any]
) -> None:
    sections = {name: dict(keys) for name, keys in VALID.items()}
    sections.setdefault(section, {}).update(values)
    sections["ips"]["password"] = sections["ips"].get("password", IPS_PASSWORD)
    path = tmp_path / "notifier.toml"
    path.write_text(toml_text(sections))
    done = subprocess.run(
        [sys.executable, "-m", "notifier", command, "-c", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr
    assert f"{section}." in done.stderr
    assert IPS_PASSWORD not in done.stderr + done.stdout
    assert "12345" not in done.stderr
    assert "Traceback" not in done.stderr
