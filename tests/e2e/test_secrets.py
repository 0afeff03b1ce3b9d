"""Passwords never reach the output or the store, even at debug level and when a login fails.

Every test of this package checks its processes' output (see conftest.transcript); these
provoke the paths most likely to leak: failed logins, and a full debug log of a send.
"""

from __future__ import annotations

from tests.e2e.conftest import (
    SECRETS,
    SMTP_PASSWORD,
    WRONG_IPS_PASSWORD,
    WRONG_SMTP_PASSWORD,
    Notifier,
    World,
)


async def test_failed_logins_at_debug_level_print_no_password(
    world: World, notifier: Notifier
) -> None:
    config = world.config(ips={"password": WRONG_IPS_PASSWORD}, log={"level": "debug"})
    result = await notifier.run(
        "check-config",
        "--connect",
        "-c",
        str(config),
        env={"NOTIFIER_SMTP_PASSWORD": WRONG_SMTP_PASSWORD},
    )
    assert result.returncode == 1
    assert result.stdout.count("FAILED") == 2, result.stdout
    assert world.sink.failed_logins >= 1, "the wrong SMTP password was really tried"
    assert not [form for form in SECRETS if form in result.output]


async def test_a_daemon_logging_at_debug_level_prints_no_password(
    world: World, notifier: Notifier
) -> None:
    password_file = world.dir / "smtp-password"
    password_file.write_text(SMTP_PASSWORD + "\n", encoding="utf-8")
    config = world.config(log={"level": "debug"})
    text = config.read_text(encoding="utf-8").replace(
        f'password = "{SMTP_PASSWORD}"', f'password_file = "{password_file}"'
    )
    config.write_text(text, encoding="utf-8")
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    world.add_job("Secretive", email="sam@example.com")
    await world.wait_for_mails(1)
    assert await daemon.stop() == 0
    assert world.sink.messages[0].login is not None, "the email went through an SMTP login"
    assert "job event started for Secretive" in daemon.log
    assert not [form for form in SECRETS if form in daemon.log]
    stored = b"".join(path.read_bytes() for path in world.dir.glob("state.sqlite3*"))
    assert stored, "the store was written"
    assert not [form for form in SECRETS if form.encode() in stored], "a password in the store"
