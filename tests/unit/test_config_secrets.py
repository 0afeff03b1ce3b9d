"""Passwords: where they come from, which source wins, and that they are never shown."""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import tomllib
from pathlib import Path

import pytest

from notifier.config import Config, ConfigError, Secret, load_config, redacted, to_toml

BASE = """\
[ips]
url = "https://ips.example.com/scene7/services/IpsApiService"
user = "bot@example.com"
{ips}
[smtp]
from = "IPS Jobs <ips-jobs@example.com>"
{smtp}
"""
IPS_SECRET = "ips-Pa55word-from-{}"


def config_file(tmp_path: Path, ips: str = "", smtp: str = "") -> Path:
    path = tmp_path / "notifier.toml"
    path.write_text(BASE.format(ips=ips, smtp=smtp), encoding="utf-8")
    return path


def secret_file(directory: Path, name: str, content: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_password_from_the_file(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, ips='password = "hunter2-file"'), {})
    assert config.ips.password.reveal() == "hunter2-file"
    assert config.ips.password.source == "configuration file"
    assert not config.smtp.password


def test_password_file_strips_exactly_one_trailing_newline(tmp_path: Path) -> None:
    pw = secret_file(tmp_path / "secrets", "ips", "with-newline \n\n")
    crlf = secret_file(tmp_path / "secrets", "smtp", "crlf-pass\r\n")
    path = config_file(tmp_path, ips=f'password_file = "{pw}"', smtp=f'password_file = "{crlf}"')
    config = load_config(path, {})
    assert config.ips.password.reveal() == "with-newline \n"
    assert config.ips.password.source == f"file {pw}"
    assert config.smtp.password.reveal() == "crlf-pass"


def test_credential_directory_beats_the_file(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    secret_file(creds, "ips-password", "from-credential\n")
    secret_file(creds, "smtp-password", "smtp-from-credential")
    path = config_file(tmp_path, ips='password = "from-file"', smtp='password = "x-file"')
    config = load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert config.ips.password.reveal() == "from-credential"
    assert config.ips.password.source == "credential ips-password"
    assert config.smtp.password.reveal() == "smtp-from-credential"


def test_environment_beats_credential_and_file(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    secret_file(creds, "ips-password", "from-credential")
    path = config_file(tmp_path, ips='password = "from-file"')
    env = {"CREDENTIALS_DIRECTORY": str(creds), "NOTIFIER_IPS_PASSWORD": "from-env"}
    config = load_config(path, env)
    assert config.ips.password.reveal() == "from-env"
    assert config.ips.password.source == "environment NOTIFIER_IPS_PASSWORD"


def test_environment_password_file_beats_credential(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    secret_file(creds, "smtp-password", "from-credential")
    pw = secret_file(tmp_path / "other", "smtp", "from-env-file")
    env = {"CREDENTIALS_DIRECTORY": str(creds), "NOTIFIER_SMTP_PASSWORD_FILE": str(pw)}
    config = load_config(config_file(tmp_path), env)
    assert config.smtp.password.reveal() == "from-env-file"


def test_missing_credential_falls_back_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "creds").mkdir()
    path = config_file(tmp_path, ips='password = "from-file"')
    config = load_config(path, {"CREDENTIALS_DIRECTORY": str(tmp_path / "creds")})
    assert config.ips.password.reveal() == "from-file"


def test_password_and_password_file_together_is_an_error(tmp_path: Path) -> None:
    pw = secret_file(tmp_path, "pw", "abc")
    path = config_file(tmp_path, ips=f'password = "hunter2-file"\npassword_file = "{pw}"')
    with pytest.raises(ConfigError, match=r"ips\.password: .*keep only one") as caught:
        load_config(path, {})
    assert "hunter2-file" not in str(caught.value)


def test_unreadable_password_file_is_named(tmp_path: Path) -> None:
    path = config_file(tmp_path, smtp='password_file = "/nonexistent/smtp-pass"')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == (
        f"{path}: smtp.password_file: cannot read '/nonexistent/smtp-pass': "
        "No such file or directory; fix the path or permissions"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_password_file_without_permission_is_named(tmp_path: Path) -> None:
    pw = secret_file(tmp_path, "pw", "abc")
    pw.chmod(0)
    path = config_file(tmp_path, ips=f'password_file = "{pw}"')
    with pytest.raises(ConfigError, match="Permission denied"):
        load_config(path, {})


def test_empty_credential_counts_as_not_given(tmp_path: Path) -> None:
    # The unit's SetCredential= default when the credential file is absent is empty.
    creds = tmp_path / "creds"
    secret_file(creds, "ips-password", "")
    secret_file(creds, "smtp-password", "\n")
    path = config_file(tmp_path, ips='password = "from-file"')
    config = load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert config.ips.password.reveal() == "from-file"
    assert not config.smtp.password


def test_empty_password_file_is_an_error_naming_it(tmp_path: Path) -> None:
    pw = secret_file(tmp_path, "pw", "\n")
    path = config_file(tmp_path, smtp=f'password_file = "{pw}"')
    with pytest.raises(ConfigError, match=r"smtp\.password_file: .* is empty"):
        load_config(path, {})


def test_unquoted_password_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    path = config_file(tmp_path, ips="password = 12345678")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert "12345678" not in str(caught.value)
    assert "ips.password: expected a string in quotes" in str(caught.value)


def _loaded(tmp_path: Path) -> Config:
    creds = tmp_path / "creds"
    secret_file(creds, "ips-password", "S3cret-IPS-value")
    path = config_file(tmp_path, smtp='password = "S3cret-SMTP-value"')
    return load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)})


def test_no_secret_in_str_repr_or_format(tmp_path: Path) -> None:
    config = _loaded(tmp_path)
    shown = [str(config), repr(config), f"{config.ips.password}", str(config.smtp.password)]
    # Logging formats with %, so check that path too.
    shown.append("%s %r" % (config.ips.password, config.smtp))  # noqa: UP031
    for text in shown:
        assert "S3cret" not in text
    assert repr(config.ips.password) == "***"
    assert str(config.ips.password) == "***"
    with pytest.raises(TypeError):
        pickle.dumps(config)


def test_redacted_shows_where_each_password_came_from(tmp_path: Path) -> None:
    config = _loaded(tmp_path)
    shown = redacted(config)
    assert shown["ips"]["password"] == "*** (from credential ips-password)"
    assert shown["smtp"]["password"] == "*** (from configuration file)"
    assert shown["smtp"]["from"] == "IPS Jobs <ips-jobs@example.com>"
    text = to_toml(shown)
    assert "S3cret" not in text
    assert 'password = "*** (from credential ips-password)"' in text


def test_redacted_toml_reads_back_as_the_same_settings(tmp_path: Path) -> None:
    config = _loaded(tmp_path)
    assert tomllib.loads(to_toml(redacted(config))) == redacted(config)


def test_asdict_and_deepcopy_keep_secrets_hidden(tmp_path: Path) -> None:
    config = _loaded(tmp_path)
    assert copy.deepcopy(config) == config
    as_dict = dataclasses.asdict(config)
    assert as_dict["ips"]["password"].reveal() == "S3cret-IPS-value"
    assert "S3cret" not in str(as_dict)


def test_secrets_compare_by_value_without_showing_it() -> None:
    assert Secret("a-b-c-d", "x") == Secret("a-b-c-d", "y")
    assert Secret("a-b-c-d") != Secret("other")
    assert not Secret() and Secret().source == ""
