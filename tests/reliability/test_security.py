"""Security promises, checked on the real daemon: TLS verified by default, secrets kept out of
logs, a private state file, endpoints on loopback by default.

- An IPS and an SMTP server with a certificate from an unknown CA are refused (no poll
  succeeds, no email and no login goes out) until ips.ca_file / smtp.ca_file name that CA;
  then the email arrives over TLS, logged in.
- The store and its -wal/-shm files are mode 0600.
- The defaults: verify_tls on for both, HTTP on 127.0.0.1.
- Passwords: the harness (conftest.py) checks every daemon log of every test for the
  passwords it configured; this test configures both, with TLS and AUTH in play.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier.config import load_config
from notifier.sim import Pacing, Simulator
from tests.reliability.conftest import (
    COMPANY,
    IPS_PASSWORD,
    IPS_USER,
    SMTP_PASSWORD,
    Rig,
    metric,
    open_rig,
    record_figure,
    render_config,
    wait_until,
)
from tests.smtp_sink import SinkTls, SmtpSink, TlsFiles, make_tls_files

SMTP_USER = "mailer"


@pytest.fixture
async def tls_rig(tmp_path: Path) -> AsyncIterator[tuple[Rig, TlsFiles]]:
    certs = tmp_path / "certs"
    certs.mkdir()
    files = make_tls_files(certs)
    sim = Simulator(user=IPS_USER, password=IPS_PASSWORD, pacing=Pacing(jobs=0))
    await sim.start(ssl_context=files.server_context())
    sink = SmtpSink(tls=SinkTls.STARTTLS, tls_files=files, logins={SMTP_USER: SMTP_PASSWORD})
    sink.start()
    async with open_rig(tmp_path, sim, sink) as rig:
        yield rig, files


def tls_config(rig: Rig, ips_ca: Path | None, smtp_ca: Path | None) -> dict[str, dict[str, object]]:
    return rig.config(
        ips={"ca_file": str(ips_ca) if ips_ca else ""},
        smtp={
            "security": "starttls",
            "user": SMTP_USER,
            "password": SMTP_PASSWORD,
            "ca_file": str(smtp_ca) if smtp_ca else "",
        },
    )


async def test_unknown_certificates_are_refused_until_their_ca_is_configured(
    tls_rig: tuple[Rig, TlsFiles],
) -> None:
    rig, files = tls_rig
    assert rig.sim.url.startswith("https://")
    handle = rig.add_running_job(1)[1]

    # 1. IPS with a certificate nobody vouched for: not one poll succeeds.
    daemon = await rig.started(tls_config(rig, None, None))
    await wait_until(lambda: "certificate" in daemon.log().lower(), 30, "a certificate error")
    assert await metric(daemon, 'notifier_polls_total{result="ok"}') == 0
    assert (await daemon.get("/readyz"))[0] == 503
    assert rig.sim.service.stats.by_operation == {}, "a SOAP request got through"
    assert await daemon.terminate() == 0

    # 2. IPS trusted, the mail server not: nothing is sent and no password leaves.
    daemon = await rig.started(tls_config(rig, files.ca_file, None))

    async def polled() -> bool:
        return await metric(daemon, "notifier_active_jobs") == 1

    await wait_until(polled, 30, "the job seen over verified TLS")
    rig.sim.finish_job(COMPANY, handle, "succeeded")

    async def retried() -> bool:
        return (await metric(daemon, 'notifier_emails_total{result="retry"}') or 0) >= 1

    await wait_until(retried, 30, "a refused delivery")
    assert rig.sink.messages == []
    assert rig.sink.failed_logins == 0
    assert "certificate" in daemon.log().lower()
    assert await daemon.terminate() == 0

    # 3. Both trusted: the email arrives over TLS, logged in.
    daemon = await rig.started(tls_config(rig, files.ca_file, files.ca_file))
    (mail,) = await rig.sink.wait_for_messages(1, within=30)
    assert mail.tls
    assert mail.login == SMTP_USER
    modes = {}  # while the daemon runs, so that the -wal and -shm files exist too
    for path in (rig.store, Path(f"{rig.store}-wal"), Path(f"{rig.store}-shm")):
        if path.exists():
            modes[path.name] = oct(stat.S_IMODE(path.stat().st_mode))
    assert await daemon.terminate() == 0
    assert set(modes.values()) == {"0o600"}, modes
    record_figure(
        "TLS: IPS and SMTP with an unknown CA refused (0 successful polls, 0 emails, "
        "0 logins) until ips.ca_file / smtp.ca_file name it; then delivered over STARTTLS "
        f"with AUTH; store files {modes}"
    )


def test_defaults_verify_tls_and_listen_on_loopback(tmp_path: Path) -> None:
    path = tmp_path / "minimal.toml"
    path.write_text(
        render_config(
            {
                "ips": {"url": "https://ips.example/scene7/services/IpsApiService", "user": "u"},
                "smtp": {"from": "IPS Jobs <ips-jobs@example.com>"},
            }
        )
    )
    config = load_config(path, environ={})
    assert config.ips.verify_tls is True
    assert config.smtp.verify_tls is True
    assert config.http.listen.startswith("127.0.0.1:")
