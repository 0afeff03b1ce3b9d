"""The files an operator installs: the example configuration and the systemd unit."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from notifier.config import Config, IpsConfig, SmtpConfig, StoreConfig, load_config, schema
from notifier.config.model import RouteConfig, WebhookConfig
from notifier.config.tables import ROUTE_KEYS, WEBHOOK_KEYS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EXAMPLE = DEPLOY / "notifier.toml.example"
UNIT = DEPLOY / "notifier.service"
MAX_EXPOSURE = 2.0


def test_example_loads_and_shows_the_true_defaults() -> None:
    config = load_config(EXAMPLE, {"STATE_DIRECTORY": "/var/lib/notifier"})
    expected = Config(
        ips=IpsConfig(
            url="https://s7sps1apissl.scene7.com/scene7/services/IpsApiService",
            user="bot@example.com",
        ),
        smtp=SmtpConfig(sender="IPS Jobs <ips-jobs@example.com>"),
        store=StoreConfig(path=Path("/var/lib/notifier/notifier.sqlite3")),
    )
    assert config == expected


def test_example_has_every_key_each_with_a_comment() -> None:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    in_example = {(section, key) for section, table in document.items() for key in table}
    assert in_example == {(key.section, key.name) for key in schema.KEYS}

    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            assert lines[number - 1].startswith("#"), f"no comment above {line!r}"


def test_every_config_field_has_a_key() -> None:
    # A field added to a section without a schema key would never be read from the file.
    arrays = {"routes": (RouteConfig, ROUTE_KEYS), "webhooks": (WebhookConfig, WEBHOOK_KEYS)}
    for section in (field.name for field in dataclasses.fields(Config)):
        if section in arrays:
            table_type, keys = arrays[section]
            fields = {field.name for field in dataclasses.fields(table_type)}
            assert fields == set(keys) - {"secret_file"}, section
            continue
        section_type = type(getattr(_defaults(), section))
        fields = {field.name for field in dataclasses.fields(section_type)}
        keyed = {key.field for key in schema.KEYS if key.section == section}
        assert fields == keyed - {""}, section


def _defaults() -> Config:
    return Config(ips=IpsConfig(url="http://x", user="u"), smtp=SmtpConfig(sender="a@b.c"))


def test_unit_runs_the_daemon_as_documented() -> None:
    settings = _unit_settings()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["WatchdogSec"] == ["60"]
    assert settings["Restart"] == ["on-failure"]
    assert settings["DynamicUser"] == ["yes"]
    assert settings["StateDirectory"] == ["notifier"]
    assert settings["ConfigurationDirectory"] == ["notifier"]
    assert settings["ExecStart"] == [
        "/opt/ips-job-notifier/bin/notifier run -c /etc/notifier/notifier.toml"
    ]
    assert settings["LoadCredential"] == [
        "ips-password:/etc/notifier/ips-password",
        "smtp-password:/etc/notifier/smtp-password",
    ]


def _unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            name, _, value = line.partition("=")
            settings.setdefault(name, []).append(value)
    return settings


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


@needs_systemd_analyze
def test_unit_sandbox_exposure_is_low() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for notifier\.service: ([\d.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


@needs_systemd_analyze
def test_unit_has_no_syntax_errors() -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        # The venv is not installed on the test machine.
        if line.strip() and "/opt/ips-job-notifier/bin/notifier is not executable" not in line
    ]
    assert problems == []
