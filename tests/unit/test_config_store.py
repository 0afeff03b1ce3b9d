"""`[store] url`: SQLite by default, PostgreSQL by URL; its password never in the URL or a log."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.config import ConfigError, load_config, redacted
from notifier.logs import redact

BASE = """\
[ips]
url = "https://ips.example.com/scene7/services/IpsApiService"
user = "bot@example.com"
[smtp]
from = "IPS Jobs <ips-jobs@example.com>"
[store]
{store}
"""
URL = "postgresql://notifier@db.example.com:5432/notifier"
SECRET = "Db-Pa55word-{}"


def config_file(tmp_path: Path, store: str = "") -> Path:
    path = tmp_path / "notifier.toml"
    path.write_text(BASE.format(store=store), encoding="utf-8")
    return path


def secret_file(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def test_no_url_keeps_the_sqlite_file(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path), {"STATE_DIRECTORY": str(tmp_path)})
    assert not config.store.is_postgres
    assert config.store.url == ""
    assert config.store.path == tmp_path / "notifier.sqlite3"


def test_a_postgresql_url_selects_the_shared_store(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, f'url = "{URL}"'), {})
    assert config.store.is_postgres
    assert config.store.url == URL
    assert not config.store.password


def test_a_unix_socket_url_is_accepted(tmp_path: Path) -> None:
    url = "postgresql:///notifier?host=/var/run/postgresql"
    assert load_config(config_file(tmp_path, f'url = "{url}"'), {}).store.url == url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://notifier:{}@db.example.com/notifier",
        "postgres://notifier:{}@db.example.com:5432/notifier",
        "postgresql://db.example.com/notifier?sslmode=require&password={}",
    ],
)
def test_a_password_in_the_url_is_refused_without_showing_it(tmp_path: Path, url: str) -> None:
    secret = SECRET.format("url")
    with pytest.raises(ConfigError) as raised:
        load_config(config_file(tmp_path, f'url = "{url.format(secret)}"'), {})
    message = str(raised.value)
    assert secret not in message
    assert raised.value.key == "store.url"
    assert "***" in message and "NOTIFIER_STORE_PASSWORD" in message


def test_a_password_in_the_url_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    secret = SECRET.format("env-url")
    environ = {"NOTIFIER_STORE_URL": f"postgresql://notifier:{secret}@db/notifier"}
    with pytest.raises(ConfigError, match=r"store\.url \(from NOTIFIER_STORE_URL\)") as raised:
        load_config(config_file(tmp_path), environ)
    assert secret not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["mysql://notifier@db/notifier", "https://db.example.com/", "postgresql://"]
)
def test_what_is_not_a_postgresql_url_is_named(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"store\.url: expected a postgresql:// URL"):
        load_config(config_file(tmp_path, f'url = "{url}"'), {})


def test_the_password_comes_from_the_environment_first(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    secret_file(creds / "store-password", SECRET.format("credential"))
    pw = secret_file(tmp_path / "store-pw", SECRET.format("file"))
    path = config_file(tmp_path, f'url = "{URL}"\npassword_file = "{pw}"')
    environ = {"NOTIFIER_STORE_PASSWORD": SECRET.format("env"), "CREDENTIALS_DIRECTORY": str(creds)}
    config = load_config(path, environ)
    assert config.store.password.reveal() == SECRET.format("env")
    assert config.store.password.source == "environment NOTIFIER_STORE_PASSWORD"


def test_then_the_systemd_credential_then_the_password_file(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    secret_file(creds / "store-password", SECRET.format("credential"))
    pw = secret_file(tmp_path / "store-pw", SECRET.format("file"))
    path = config_file(tmp_path, f'url = "{URL}"\npassword_file = "{pw}"')
    with_credential = load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert with_credential.store.password.reveal() == SECRET.format("credential")
    assert with_credential.store.password.source == "credential store-password"
    from_file = load_config(path, {})
    assert from_file.store.password.reveal() == SECRET.format("file")
    assert from_file.store.password.source == f"file {pw}"


def test_the_password_is_never_shown_nor_logged(tmp_path: Path) -> None:
    secret = SECRET.format("shown")
    config = load_config(
        config_file(tmp_path, f'url = "{URL}"'), {"NOTIFIER_STORE_PASSWORD": secret}
    )
    shown = redacted(config)["store"]
    assert shown["url"] == URL
    assert shown["password"] == "*** (from environment NOTIFIER_STORE_PASSWORD)"
    assert secret not in repr(config)
    assert redact(f"login failed with {secret}") == "login failed with ***"


def test_the_leader_lease_is_ten_seconds_unless_set_and_at_least_one(tmp_path: Path) -> None:
    assert load_config(config_file(tmp_path), {}).store.leader_lease == 10.0
    config = load_config(config_file(tmp_path, "leader_lease = 2.5"), {})
    assert config.store.leader_lease == 2.5
    with pytest.raises(
        ConfigError, match=r"store\.leader_lease: expected a number of seconds >= 1"
    ):
        load_config(config_file(tmp_path, "leader_lease = 0.5"), {})
