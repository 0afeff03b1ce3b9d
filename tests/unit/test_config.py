"""The configuration file as an operator writes it: defaults, overrides and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.config import (
    Config,
    ConfigError,
    LogFormat,
    LogLevel,
    Security,
    config_path,
    load_config,
)
from notifier.core.events import EventKind
from notifier.core.ips_emails import IpsEmails
from notifier.core.jobs import JobType

MINIMAL = """\
[ips]
url = "https://ips.example.com/scene7/services/IpsApiService"
user = "bot@example.com"

[smtp]
from = "IPS Jobs <ips-jobs@example.com>"
"""


def write(tmp_path: Path, extra: str = "", base: str = MINIMAL) -> Path:
    path = tmp_path / "notifier.toml"
    path.write_text(base + extra, encoding="utf-8")
    return path


def load(path: Path, **environ: str) -> Config:
    return load_config(path, environ)


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path), STATE_DIRECTORY=str(tmp_path))

    assert config.ips.api_version == "2014-04-03"
    assert config.ips.companies == ()
    assert config.ips.timeout == 30
    assert config.ips.verify_tls is True
    assert config.ips.ca_file is None
    assert config.poll.interval == 30
    assert config.poll.finish_confirm_polls == 2
    assert config.poll.stall_after == 1800
    assert config.poll.progress_steps == (50,)
    assert config.poll.max_backoff == 300
    assert config.notify.events == (EventKind.FINISHED, EventKind.STALLED)
    assert config.notify.reply_to == config.notify.dmc_url == config.smtp.message_id_domain == ""
    assert config.notify.default_locale == "en"
    assert config.notify.timezone == "UTC"
    assert config.notify.job_types == ()
    assert config.notify.deny == ()
    assert config.notify.outcome_grace == 300
    assert config.notify.ips_emails is IpsEmails.IGNORE
    assert config.smtp.sender == "IPS Jobs <ips-jobs@example.com>"
    assert (config.smtp.host, config.smtp.port) == ("localhost", 25)
    assert config.smtp.security is Security.NONE
    assert config.smtp.user == ""
    assert not config.smtp.password
    assert config.smtp.timeout == 30
    assert config.smtp.max_connections == 4
    assert config.smtp.max_backoff == 600
    assert config.smtp.max_age == 172800
    assert config.smtp.verify_tls is True
    assert config.store.path == tmp_path / "notifier.sqlite3"
    assert config.http.listen == "127.0.0.1:9478"
    assert config.http.address == ("127.0.0.1", 9478)
    assert config.log.level is LogLevel.INFO
    assert config.log.format is LogFormat.TEXT


def test_every_key_is_read_from_the_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    extra = """
[poll]
interval = 0.2
finish_confirm_polls = 3
stall_after = 0
progress_steps = [75, 25, 50, 25]
max_backoff = 60

[notify]
events = ["queued", "finished"]
default_locale = "pt-BR"
timezone = "Europe/Berlin"
job_types = ["UploadFromServerDirectory", "imageservingpublish"]
deny = ["@Example.org", "boss@example.com"]
outcome_grace = 12.5
reply_to = "DMC Team <dmc-team@example.com>"
dmc_url = "https://dmc.example.com/"
ips_emails = "Complement"

[store]
path = "/var/lib/other/db.sqlite3"

[http]
listen = "[::1]:0"

[log]
level = "DEBUG"
format = "json"
"""
    base = MINIMAL.replace(
        "[smtp]\n",
        f'api_version = "2013-02-15"\ncompanies = ["47", "c|9"]\ntimeout = 5\n'
        f'verify_tls = false\nca_file = "{ca}"\n\n[smtp]\nhost = "mail.example.com"\n'
        f'port = 465\nsecurity = "tls"\nuser = "relay"\ntimeout = 7\nmax_connections = 1\n'
        f'max_backoff = 30\nmax_age = 3600\nverify_tls = false\nca_file = "{ca}"\n'
        'message_id_domain = "Mail.Example.com"\n',
    )
    config = load(write(tmp_path, extra, base))

    assert config.ips.api_version == "2013-02-15"
    assert config.ips.companies == ("47", "c|9")
    assert config.ips.timeout == 5.0 and isinstance(config.ips.timeout, float)
    assert config.ips.verify_tls is False
    assert config.ips.ca_file == ca
    assert config.smtp.host == "mail.example.com"
    assert config.smtp.port == 465
    assert config.smtp.security is Security.TLS
    assert config.smtp.user == "relay"
    assert (config.smtp.timeout, config.smtp.max_connections) == (7, 1)
    assert (config.smtp.max_backoff, config.smtp.max_age) == (30, 3600)
    assert config.smtp.verify_tls is False and config.smtp.ca_file == ca
    assert config.poll.interval == 0.2
    assert config.poll.finish_confirm_polls == 3
    assert config.poll.stall_after == 0
    assert config.poll.progress_steps == (25, 50, 75)
    assert config.poll.max_backoff == 60
    assert config.notify.events == (EventKind.QUEUED, EventKind.FINISHED)
    assert config.notify.default_locale == "pt_BR"
    assert config.notify.timezone == "Europe/Berlin"
    assert config.notify.job_types == (
        JobType.UPLOAD_FROM_SERVER_DIRECTORY,
        JobType.IMAGE_SERVING_PUBLISH,
    )
    assert config.notify.deny == ("@example.org", "boss@example.com")
    assert config.notify.reply_to == "DMC Team <dmc-team@example.com>"
    assert config.notify.dmc_url == "https://dmc.example.com/"
    assert config.smtp.message_id_domain == "mail.example.com"
    assert config.notify.outcome_grace == 12.5
    assert config.notify.ips_emails is IpsEmails.COMPLEMENT
    assert config.store.path == Path("/var/lib/other/db.sqlite3")
    assert config.http.address == ("::1", 0)
    assert config.log.level is LogLevel.DEBUG
    assert config.log.format is LogFormat.JSON


@pytest.mark.parametrize(
    ("written", "catalog"),
    [
        ("pt-BR", "pt_BR"),
        ("pt_br", "pt_BR"),
        ("zh-Hant", "zh_Hant"),
        ("zh-TW", "zh_Hant"),
        ("zh-CN", "zh_Hans"),
        ("en-US", "en"),
        ("es-MX", "es"),
        ("DE", "de"),
        ("pt", "pt_BR"),
        ("en_GB", "en"),
    ],
)
def test_default_locale_accepts_bcp47_forms(tmp_path: Path, written: str, catalog: str) -> None:
    config = load(write(tmp_path, f'[notify]\ndefault_locale = "{written}"\n'))
    assert config.notify.default_locale == catalog


def test_config_path_prefers_argument_then_environment_then_etc() -> None:
    assert config_path("/a.toml", {"NOTIFIER_CONFIG": "/b.toml"}) == Path("/a.toml")
    assert config_path(None, {"NOTIFIER_CONFIG": "/b.toml"}) == Path("/b.toml")
    assert config_path(None, {}) == Path("/etc/notifier/notifier.toml")


def test_none_path_reads_notifier_config(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = 7\n")
    assert load_config(None, {"NOTIFIER_CONFIG": str(path)}).poll.interval == 7


def test_store_keep_days_defaults_to_30_and_is_read(tmp_path: Path) -> None:
    assert load(write(tmp_path)).store.keep_days == 30
    assert load(write(tmp_path, "[store]\nkeep_days = 90\n")).store.keep_days == 90


def test_store_path_is_relative_to_state_directory_else_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[store]\npath = "sub/db.sqlite3"\n')
    state = load(path, STATE_DIRECTORY="/var/lib/notifier:/var/lib/other")
    assert state.store.path == Path("/var/lib/notifier/sub/db.sqlite3")
    monkeypatch.chdir(tmp_path)
    assert load(path).store.path == tmp_path / "sub/db.sqlite3"


# --- environment overrides -------------------------------------------------------------------


def test_environment_overrides_keys_with_their_types(tmp_path: Path) -> None:
    config = load(
        write(tmp_path, "[poll]\ninterval = 30\n"),
        NOTIFIER_POLL_INTERVAL="0.5",
        NOTIFIER_POLL_FINISH_CONFIRM_POLLS="4",
        NOTIFIER_IPS_VERIFY_TLS="false",
        NOTIFIER_SMTP_PORT="587",
        NOTIFIER_SMTP_SECURITY="starttls",
        NOTIFIER_SMTP_FROM="Ops <ops@example.net>",
        NOTIFIER_HTTP_LISTEN="",
        NOTIFIER_CONFIG="/ignored/here",
        NOTIFIERX_POLL_INTERVAL="ignored",
    )
    assert config.poll.interval == 0.5
    assert config.poll.finish_confirm_polls == 4
    assert config.ips.verify_tls is False
    assert config.smtp.port == 587
    assert config.smtp.security is Security.STARTTLS
    assert config.smtp.sender == "Ops <ops@example.net>"
    assert config.http.listen == "" and config.http.address is None


@pytest.mark.parametrize(
    ("text", "steps", "events"),
    [
        ("25, 75", (25, 75), ("queued", "finished")),
        ("[25, 75]", (25, 75), ("queued", "finished")),
    ],
)
def test_environment_lists_are_toml_arrays_or_comma_separated(
    tmp_path: Path, text: str, steps: tuple[int, ...], events: tuple[str, ...]
) -> None:
    event_text = '["queued", "finished"]' if text.startswith("[") else "queued,finished"
    config = load(
        write(tmp_path),
        NOTIFIER_POLL_PROGRESS_STEPS=text,
        NOTIFIER_NOTIFY_EVENTS=event_text,
        NOTIFIER_NOTIFY_JOB_TYPES="",
    )
    assert config.poll.progress_steps == steps
    assert tuple(config.notify.events) == events
    assert config.notify.job_types == ()


def test_environment_can_supply_required_keys(tmp_path: Path) -> None:
    path = write(tmp_path, base="")
    config = load(
        path,
        NOTIFIER_IPS_URL="http://127.0.0.1:8080/ips",
        NOTIFIER_IPS_USER="bot",
        NOTIFIER_SMTP_FROM="a@example.com",
    )
    assert config.ips.url == "http://127.0.0.1:8080/ips"


# --- errors ----------------------------------------------------------------------------------

BAD_VALUES = [
    ("[poll]\ninterval = 'fast'\n", "poll.interval", "number of seconds > 0, got 'fast'"),
    ("[poll]\ninterval = 0\n", "poll.interval", "> 0"),
    ("[poll]\ninterval = -1.5\n", "poll.interval", "> 0"),
    ("[poll]\ninterval = true\n", "poll.interval", "got True"),
    ("[poll]\ninterval = inf\n", "poll.interval", "> 0"),
    ("[poll]\nmax_backoff = 0\n", "poll.max_backoff", "> 0"),
    ("[poll]\nstall_after = -1\n", "poll.stall_after", ">= 0"),
    ("[poll]\nfinish_confirm_polls = true\n", "poll.finish_confirm_polls", "whole number"),
    ("[poll]\nfinish_confirm_polls = 1.5\n", "poll.finish_confirm_polls", "whole number"),
    ("[poll]\nfinish_confirm_polls = 0\n", "poll.finish_confirm_polls", "from 1"),
    ("[poll]\nprogress_steps = [0]\n", "poll.progress_steps", "1 to 99"),
    ("[poll]\nprogress_steps = [100]\n", "poll.progress_steps", "1 to 99"),
    ("[poll]\nprogress_steps = 50\n", "poll.progress_steps", "list"),
    ("[poll]\nprogress_steps = [true]\n", "poll.progress_steps", "1 to 99"),
    ("[notify]\nevents = ['begun']\n", "notify.events", "event kinds"),
    ("[notify]\njob_types = ['Bogus']\n", "notify.job_types", "job types"),
    ("[notify]\njob_types = ['Unrecognized']\n", "notify.job_types", "job types"),
    ("[notify]\ndefault_locale = 'tlh'\n", "notify.default_locale", "zh_Hant"),
    ("[notify]\ndefault_locale = '../../etc'\n", "notify.default_locale", "catalogs"),
    ("[notify]\ntimezone = 'Mars/Olympus'\n", "notify.timezone", "IANA time zone"),
    ("[notify]\ntimezone = '../../etc/passwd'\n", "notify.timezone", "IANA time zone"),
    ("[notify]\ndeny = ['nobody']\n", "notify.deny", "@domain"),
    ("[notify]\noutcome_grace = 0\n", "notify.outcome_grace", "> 0"),
    ("[notify]\nreply_to = 'dmc team'\n", "notify.reply_to", "ips-jobs@example.com"),
    ('[notify]\nreply_to = "a@b.c\\nBcc: x@y.z"\n', "notify.reply_to", "address"),
    ("[notify]\ndmc_url = 'dmc.example.com'\n", "notify.dmc_url", "https://"),
    ("[notify]\nips_emails = 'skip'\n", "notify.ips_emails", "ignore, complement"),
    ("[smtp]\nmessage_id_domain = 'localhost'\n", "smtp.message_id_domain", "full domain"),
    ("[smtp]\nmessage_id_domain = 'a b.com'\n", "smtp.message_id_domain", "full domain"),
    ("[smtp]\nport = true\n", "smtp.port", "whole number"),
    ("[smtp]\nport = '25'\n", "smtp.port", "got '25'"),
    ("[smtp]\nport = 70000\n", "smtp.port", "1 to 65535"),
    ("[smtp]\nsecurity = 'ssl'\n", "smtp.security", "none, starttls, tls"),
    ("[smtp]\nmax_connections = 0\n", "smtp.max_connections", "from 1"),
    ("[smtp]\nverify_tls = 'yes'\n", "smtp.verify_tls", "true or false"),
    ("[ips]\nverify_tls = 1\n", "ips.verify_tls", "true or false"),
    ("[ips]\ntimeout = 0\n", "ips.timeout", "> 0"),
    ("[ips]\ncompanies = [47]\n", "ips.companies", "in quotes"),
    ("[ips]\napi_version = 'latest'\n", "ips.api_version", "2014-04-03"),
    ("[http]\nlisten = '9478'\n", "http.listen", "host:port"),
    ("[http]\nlisten = 'localhost'\n", "http.listen", "host:port"),
    ("[http]\nlisten = '127.0.0.1:99999'\n", "http.listen", "host:port"),
    ("[http]\nlisten = '::1:9478'\n", "http.listen", "[::1]:9478"),
    ("[log]\nlevel = 'verbose'\n", "log.level", "debug, info"),
    ("[log]\nformat = 'xml'\n", "log.format", "text, json"),
    ("[store]\npath = ''\n", "store.path", "non-empty"),
    ("[store]\nkeep_days = 0\n", "store.keep_days", "from 1 to 36500"),
    ("[log]\nlevels = 'info'\n", "log.levels", "did you mean 'level'?"),
    ("[logging]\nlevel = 'info'\n", "logging", "unknown section"),
    ("log = 'info'\n", "log", "[log] table"),
]


@pytest.mark.parametrize(("extra", "key", "fragment"), BAD_VALUES)
def test_bad_value_names_file_and_key(tmp_path: Path, extra: str, key: str, fragment: str) -> None:
    # Sections may appear twice in TOML only if merged: write the bad key in a file of its own
    # when its section is already in MINIMAL.
    section = extra.partition("\n")[0]
    base = MINIMAL
    if not section.startswith("["):
        base, extra = extra + MINIMAL, ""
    elif section in ("[ips]", "[smtp]"):
        base = MINIMAL.replace(section + "\n", extra)
        extra = ""
    path = write(tmp_path, "\n" + extra, base)
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert fragment in message, message
    assert caught.value.key == key


@pytest.mark.parametrize(
    "url",
    [
        "ftp://ips.example.com/x",
        "https://",
        "ips.example.com/scene7",
        "https://bot:secret@ips.example.com/x",
        "https://ips.example.com:notaport/x",
    ],
)
def test_ips_url_must_be_http_with_a_host(tmp_path: Path, url: str) -> None:
    path = write(
        tmp_path, base=MINIMAL.replace("https://ips.example.com/scene7/services/IpsApiService", url)
    )
    with pytest.raises(ConfigError, match=r"ips\.url: expected an http:// or https:// URL"):
        load(path)


@pytest.mark.parametrize(
    ("cut", "key"),
    [
        ('url = "https://ips.example.com/scene7/services/IpsApiService"\n', "ips.url"),
        ('user = "bot@example.com"\n', "ips.user"),
        ('from = "IPS Jobs <ips-jobs@example.com>"\n', "smtp.from"),
    ],
)
def test_required_keys_are_named_with_the_fix(tmp_path: Path, cut: str, key: str) -> None:
    path = write(tmp_path, base=MINIMAL.replace(cut, ""))
    with pytest.raises(ConfigError) as caught:
        load(path)
    env_var = "NOTIFIER_" + key.replace(".", "_").upper()
    assert (
        str(caught.value)
        == f"{path}: {key}: required: set it in [{key.split('.')[0]}] or in {env_var}"
    )


@pytest.mark.parametrize("sender", ["nobody", "IPS <ips@localhost>", "a@example.com\nBcc: x@y.z"])
def test_smtp_from_must_be_an_address(tmp_path: Path, sender: str) -> None:
    path = write(
        tmp_path,
        "[notify]\n",
        MINIMAL.replace("IPS Jobs <ips-jobs@example.com>", sender.replace("\n", "\\n")),
    )
    with pytest.raises(ConfigError, match=r"smtp\.from: expected an address"):
        load(path)


def test_invalid_toml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = \n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: invalid TOML: ")
    assert "at line 8, column 12" in str(caught.value)


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file: create it from deploy/notifier.toml"):
        load(tmp_path / "absent.toml")


def test_unreadable_ca_file_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[notify]\n",
        MINIMAL.replace("[smtp]\n", '[smtp]\nca_file = "/nonexistent/ca.pem"\n'),
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert "smtp.ca_file: cannot read '/nonexistent/ca.pem': No such file or directory" in str(
        caught.value
    )


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load(path, NOTIFIER_POLL_INTERVAL="fast")
    assert str(caught.value) == (
        f"{path}: poll.interval (from NOTIFIER_POLL_INTERVAL): "
        "expected a number of seconds > 0, got 'fast'"
    )


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("NOTIFIER_POLL_INTERVALL", "5", "did you mean 'NOTIFIER_POLL_INTERVAL'?"),
        ("NOTIFIER_SMTP_PORT", "true", "whole number"),
        ("NOTIFIER_IPS_VERIFY_TLS", "maybe", "true or false"),
        ("NOTIFIER_POLL_PROGRESS_STEPS", "[25,", "not a TOML array"),
        ("NOTIFIER_POLL_PROGRESS_STEPS", "25,high", "1 to 99"),
    ],
)
def test_environment_errors(tmp_path: Path, var: str, value: str, fragment: str) -> None:
    path = write(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load(path, **{var: value})
    assert str(caught.value).startswith(f"{path}: ")
    assert var in str(caught.value)
    assert fragment in str(caught.value)
