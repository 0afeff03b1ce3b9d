"""What an operator sees from a wrong configuration and from `notifier check-config`."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.conftest import (
    IPS_PASSWORD,
    WRONG_IPS_PASSWORD,
    Notifier,
    Sections,
    World,
    toml_text,
)

VALID: Sections = {
    "ips": {"url": "http://127.0.0.1:9/scene7/services/IpsApiService", "user": "bot@example.com"},
    "smtp": {"from": "IPS Jobs <ips-jobs@example.com>"},
}


def variant(section: str, key: str, value: object) -> Sections:
    sections: Sections = {name: dict(values) for name, values in VALID.items()}
    sections.setdefault(section, {})[key] = value
    return sections


@pytest.mark.parametrize(
    ("sections", "named"),
    [
        pytest.param(variant("poll", "intervall", 5), "poll.intervall", id="unknown key"),
        pytest.param(variant("poll", "interval", "fast"), "poll.interval", id="wrong type"),
        pytest.param(variant("ips", "url", "ftp://ips.example.com/api"), "ips.url", id="bad url"),
        pytest.param(
            variant("notify", "timezone", "Mars/Olympus_Mons"), "notify.timezone", id="timezone"
        ),
    ],
)
async def test_a_bad_key_exits_2_naming_the_file_and_the_key(
    notifier: Notifier, sections: Sections, named: str
) -> None:
    config = notifier.cwd / "bad.toml"
    config.write_text(toml_text(sections), encoding="utf-8")
    result = await notifier.run("check-config", "-c", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert named in result.stderr


async def test_a_bad_environment_override_is_named(notifier: Notifier) -> None:
    config = notifier.cwd / "ok.toml"
    config.write_text(toml_text(VALID), encoding="utf-8")
    ok = await notifier.run("check-config", "-c", str(config))
    assert ok.returncode == 0, ok.output
    assert "configuration OK" in ok.stdout
    result = await notifier.run(
        "check-config", "-c", str(config), env={"NOTIFIER_POLL_INTERVAL": "soon"}
    )
    assert result.returncode == 2
    assert "NOTIFIER_POLL_INTERVAL" in result.stderr


@pytest.mark.parametrize("command", ["check-config", "run", "once", "outbox"])
async def test_a_missing_config_file_exits_2_naming_it(notifier: Notifier, command: str) -> None:
    missing = notifier.cwd / "nowhere" / "notifier.toml"
    result = await notifier.run(command, "-c", str(missing))
    assert result.returncode == 2
    assert str(missing) in result.stderr


async def test_check_config_connect_logs_in_to_ips_and_smtp(
    world: World, notifier: Notifier
) -> None:
    result = await notifier.run("check-config", "--connect", "-c", str(world.config()))
    assert result.returncode == 0, result.output
    assert f"IPS {world.sim.url}: logged in as" in result.stdout
    assert f"SMTP {world.sink.host}:{world.sink.port} (starttls): OK" in result.stdout


async def test_check_config_connect_with_a_wrong_ips_password_says_so_without_printing_it(
    world: World, notifier: Notifier
) -> None:
    config = world.config(ips={"password": WRONG_IPS_PASSWORD})
    result = await notifier.run("check-config", "--connect", "-c", str(config))
    assert result.returncode == 1
    assert f"IPS {world.sim.url}: FAILED" in result.stdout
    assert "authentication" in result.stdout.lower()
    assert WRONG_IPS_PASSWORD not in result.output
    assert "(starttls): OK" in result.stdout, "SMTP is still checked and fine"


async def test_systemd_credentials_and_state_directory_are_used(
    world: World, notifier: Notifier
) -> None:
    credentials = world.dir / "credentials"
    credentials.mkdir()
    (credentials / "ips-password").write_text(IPS_PASSWORD + "\n", encoding="utf-8")
    state = world.dir / "state"
    state.mkdir()
    config = world.config(ips={"password": WRONG_IPS_PASSWORD})
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "STATE_DIRECTORY": str(state)}
    checked = await notifier.run("check-config", "--connect", "-c", str(config), env=env)
    assert checked.returncode == 0, checked.output
    assert "logged in as" in checked.stdout
    once = await notifier.run("once", "-c", str(config), env=env)
    assert once.returncode == 0, once.output
    assert (state / "state.sqlite3").exists()
    assert not world.store.exists(), "the relative store path is under $STATE_DIRECTORY"


async def test_a_taken_http_port_is_named_without_a_traceback(
    world: World, notifier: Notifier
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    host, port = taken.getsockname()
    try:
        config = world.config(http={"listen": f"{host}:{port}"})
        daemon = await notifier.start(config)
        code = await daemon.wait()
    finally:
        taken.close()
    assert code == 1
    assert f"http.listen = '{host}:{port}'" in daemon.log
    assert "Traceback" not in daemon.log


async def test_check_config_warns_about_missing_passwords(world: World, notifier: Notifier) -> None:
    config = world.config(ips={"password": ""}, smtp={"password": ""})

    result = await notifier.run("check-config", "-c", str(config))

    assert result.returncode == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, result.stdout
    assert "no IPS password" in warnings[0]
    assert "NOTIFIER_IPS_PASSWORD" in warnings[0]
    assert "smtp.user is 'relay-e2e' but there is no SMTP password" in warnings[1]
    complete = await notifier.run("check-config", "-c", str(world.config()))
    assert "warning:" not in complete.stdout
