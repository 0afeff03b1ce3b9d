"""[[route]], [[webhook]], [digest] and notify.submitter as an operator writes them: defaults,
checks that name the table and key, and webhook URLs and secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.config import ConfigError, load_config, redacted, to_toml
from notifier.core.events import EventKind, Outcome
from notifier.logs import redact
from notifier.webhook.target import WebhookFormat
from tests.unit.test_config import MINIMAL, write

HOOK_URL = "https://hooks.example.com/services/T000/B000/XXXXsecretpath?token=abc123"


def test_routes_get_the_notify_defaults_and_keep_what_they_say(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[notify]
events = ["started", "finished"]
default_locale = "fr"
submitter = false

[[route]]
companies = ["47"]
events = ["finished"]
outcomes = ["failed", "warnings"]
to = ["dam-team@example.com", "webhook:ops"]
locale = "de-DE"

[[route]]
to = ["night-shift@example.com"]

[[webhook]]
name = "ops"
url = "https://example.com/hooks/ips"
format = "slack"
secret = "s3cret-for-hmac"
timeout = 5

[digest]
after = 5
window = 600
""",
    )
    config = load_config(path, {})
    first, second = config.routes
    assert first.companies == ("47",)
    assert first.events == (EventKind.FINISHED,)
    assert first.outcomes == (Outcome.FAILED, Outcome.WARNINGS)
    assert first.to == ("dam-team@example.com", "webhook:ops")
    assert first.locale == "de"
    assert second.events == (EventKind.STARTED, EventKind.FINISHED), "notify.events"
    assert second.locale == "fr", "notify.default_locale"
    assert (second.companies, second.job_types, second.outcomes) == ((), (), ())
    (hook,) = config.webhooks
    assert (hook.name, hook.format, hook.timeout) == ("ops", WebhookFormat.SLACK, 5.0)
    assert hook.secret.reveal() == "s3cret-for-hmac"
    assert config.notify.submitter is False
    assert (config.digest.after, config.digest.window) == (5, 600.0)


def test_without_tables_there_are_no_routes_and_no_digests(tmp_path: Path) -> None:
    config = load_config(write(tmp_path), {})
    assert (config.routes, config.webhooks) == ((), ())
    assert config.notify.submitter is True
    assert config.digest.after == 0


@pytest.mark.parametrize(
    ("tables", "where", "says"),
    [
        ('[[route]]\nto = ["webhook:nope"]\n', "route[1].to", "no [[webhook]] named 'nope'"),
        ('[[route]]\nto = ["not an address"]\n', "route[1].to", "is not an email address"),
        ("[[route]]\nevents = []\n", "route[1].to", "required"),
        ('[[route]]\nto = ["a@b.example"]\ncolour = 1\n', "route[1].colour", "unknown key"),
        ('[[route]]\nto = ["a@b.example"]\noutcomes = ["great"]\n', "route[1].outcomes", ""),
        ('[[webhook]]\nurl = "https://x.example/h"\n', "webhook[1].name", "required"),
        ('[[webhook]]\nname = "a"\n', 'webhook "a".url', "required"),
        ('[[webhook]]\nname = "a"\nurl = "ftp://x"\n', 'webhook "a".url', "https://"),
        (
            '[[webhook]]\nname = "a"\nurl = "https://x.example"\nformat = "xml"\n',
            'webhook "a".format',
            "json",
        ),
        (
            '[[webhook]]\nname = "a"\nurl = "https://x.example"\n'
            '[[webhook]]\nname = "a"\nurl = "https://y.example"\n',
            'webhook "a"',
            "two webhooks",
        ),
        ("[digest]\nafter = -1\n", "digest.after", "whole number"),
    ],
)
def test_a_wrong_table_is_refused_naming_it(
    tmp_path: Path, tables: str, where: str, says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, "\n" + tables), {})
    assert raised.value.key == where
    assert says in raised.value.problem


def test_a_bad_webhook_url_is_not_echoed(tmp_path: Path) -> None:
    secretish = "htps://user:hunter2-secret@example.com/x"
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, f'\n[[webhook]]\nname = "a"\nurl = "{secretish}"\n'), {})
    assert "hunter2" not in str(raised.value)


def test_the_webhook_secret_comes_from_its_credential_or_file(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "webhook-ops").write_text("from-systemd\n", encoding="utf-8")
    secret_file = tmp_path / "ops.secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    table = f'\n[[webhook]]\nname = "ops"\nurl = "{HOOK_URL}"\nsecret_file = "{secret_file}"\n'
    path = write(tmp_path, table)

    from_credential = load_config(path, {"CREDENTIALS_DIRECTORY": str(credentials)})
    from_file = load_config(path, {})

    assert from_credential.webhooks[0].secret.reveal() == "from-systemd"
    assert from_credential.webhooks[0].secret.source == "credential webhook-ops"
    assert from_file.webhooks[0].secret.reveal() == "from-a-file"


def test_check_config_shows_webhooks_without_their_url_path_or_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'\n[[webhook]]\nname = "ops"\nurl = "{HOOK_URL}"\nsecret = "hmac-key-123456"\n'
        '\n[[route]]\nto = ["webhook:ops"]\n',
    )
    config = load_config(path, {})

    shown = to_toml(redacted(config))

    assert 'url = "https://hooks.example.com/…"' in shown
    assert "XXXXsecretpath" not in shown and "abc123" not in shown
    assert "hmac-key-123456" not in shown
    assert "[[route]]\ncompanies = []" in shown
    assert HOOK_URL not in repr(config)


def test_the_example_base_still_loads(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "", MINIMAL), {}).routes == ()


def test_webhook_urls_and_secrets_are_redacted_from_logs_once_loaded(tmp_path: Path) -> None:
    table = f'\n[[webhook]]\nname = "ops"\nurl = "{HOOK_URL}"\nsecret = "hmac-key-789012"\n'
    load_config(write(tmp_path, table), {})

    line = f"POST {HOOK_URL} failed; path /services/T000/B000/XXXXsecretpath; key hmac-key-789012"

    assert "secretpath" not in redact(line)
    assert "hmac-key-789012" not in redact(line)
    assert "hooks.example.com" in redact(line) or "***" in redact(line)
