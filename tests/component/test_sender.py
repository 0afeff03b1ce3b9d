"""The SMTP sender against a real aiosmtpd server: envelopes, refusals, outages, TLS, AUTH, pool."""

from __future__ import annotations

import asyncio
import email.policy
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier.mail.message import OutgoingEmail
from notifier.mail.sender import (
    Mailer,
    PermanentDeliveryError,
    ServerUnavailableError,
    SmtpSecurity,
    TemporaryDeliveryError,
)
from tests.smtp_sink import SinkTls, SmtpSink, TlsFiles, make_tls_files

FROM = "IPS Jobs <ips-jobs@example.com>"
PASSWORD = "s3cret-Pa55"


def message(
    to: str = "ana@example.com", subject: str = "Spring catalogue: finished"
) -> OutgoingEmail:
    msg = EmailMessage()
    msg["From"] = FROM
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<0123abcd@notifier.example.com>"
    msg.set_content("Your job finished.\n")
    return OutgoingEmail(
        sender="ips-jobs@example.com",
        recipient=to,
        message_id=str(msg["Message-ID"]),
        data=msg.as_bytes(policy=email.policy.SMTPUTF8),
    )


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path)


@pytest.fixture
async def mailer(sink: SmtpSink) -> AsyncIterator[Mailer]:
    m = Mailer(sink.host, sink.port, timeout=5.0)
    yield m
    await m.close()


async def test_send_delivers_with_the_envelope_of_the_message(
    sink: SmtpSink, mailer: Mailer
) -> None:
    reply = await mailer.send(message())

    [received] = await sink.wait_for_messages(1)
    assert received.mail_from == "ips-jobs@example.com"
    assert received.rcpt_tos == ("ana@example.com",)
    assert received.message["Subject"] == "Spring catalogue: finished"
    assert received.message["Message-ID"] == "<0123abcd@notifier.example.com>"
    assert "queued as 1" in reply


async def test_explicit_recipients_override_the_headers_and_idn_goes_ascii(
    sink: SmtpSink, mailer: Mailer
) -> None:
    await mailer.send(message(), recipients=["José@Bücher.DE"])

    [received] = await sink.wait_for_messages(1)
    assert received.rcpt_tos == ("José@xn--bcher-kva.de",)


async def test_an_internationalised_mailbox_goes_over_smtputf8(
    sink: SmtpSink, mailer: Mailer
) -> None:
    await mailer.send(message(to="josé@example.com"))

    [received] = await sink.wait_for_messages(1)
    assert received.rcpt_tos == ("josé@example.com",)


async def test_an_internationalised_mailbox_is_permanent_for_a_server_without_smtputf8() -> None:
    with SmtpSink(smtputf8=False) as sink:
        mailer = Mailer(sink.host, sink.port, timeout=5.0)
        with pytest.raises(PermanentDeliveryError, match="SMTPUTF8"):
            await mailer.send(message(to="josé@example.com"))
        await mailer.send(message(to="jose@example.com"))
        await mailer.close()
        assert [m.rcpt_tos for m in sink.messages] == [("jose@example.com",)]


async def test_connections_are_reused_between_messages(sink: SmtpSink, mailer: Mailer) -> None:
    for _ in range(3):
        await mailer.send(message())

    assert len(sink.messages) == 3
    assert sink.connections_accepted == 1


async def test_a_4xx_is_temporary_and_the_next_attempt_goes_through(
    sink: SmtpSink, mailer: Mailer
) -> None:
    sink.refuse_next(1, 451, "4.3.0 Mailbox busy")

    with pytest.raises(TemporaryDeliveryError) as caught:
        await mailer.send(message())
    assert not isinstance(caught.value, ServerUnavailableError)
    assert caught.value.code == 451
    assert caught.value.reason == "451 4.3.0 Mailbox busy"

    await mailer.send(message())
    assert len(sink.messages) == 1
    assert sink.connections_accepted == 1  # the refusal did not cost the connection


async def test_a_5xx_for_the_recipient_is_permanent_with_the_servers_reason(
    sink: SmtpSink, mailer: Mailer
) -> None:
    sink.refuse_recipient("gone@example.com", 550, "5.1.1 No such user here")

    with pytest.raises(PermanentDeliveryError) as caught:
        await mailer.send(message(to="gone@example.com"))

    assert caught.value.code == 550
    assert caught.value.reason == "550 5.1.1 No such user here"
    await mailer.send(message(to="ana@example.com"))
    assert [m.rcpt_tos for m in sink.messages] == [("ana@example.com",)]


async def test_a_5xx_at_the_end_of_data_is_permanent(sink: SmtpSink, mailer: Mailer) -> None:
    sink.refuse_next(1, 554, "5.7.1 Message rejected as spam")

    with pytest.raises(PermanentDeliveryError, match=r"554 5\.7\.1 Message rejected as spam"):
        await mailer.send(message())


async def test_a_421_means_the_server_is_unavailable(sink: SmtpSink, mailer: Mailer) -> None:
    sink.refuse_next(1, 421, "4.3.2 Shutting down")

    with pytest.raises(ServerUnavailableError) as caught:
        await mailer.send(message())
    assert caught.value.code == 421


async def test_an_invalid_recipient_is_permanent_and_never_reaches_the_server(
    sink: SmtpSink, mailer: Mailer
) -> None:
    with pytest.raises(PermanentDeliveryError, match="invalid recipient address"):
        await mailer.send(message(), recipients=["ana@example.com\r\nRCPT TO:<x@evil.test>"])
    assert sink.connections_accepted == 0


async def test_server_down_is_temporary_then_delivery_resumes_on_the_same_mailer(
    sink: SmtpSink, mailer: Mailer
) -> None:
    await mailer.send(message())
    sink.stop()

    with pytest.raises(ServerUnavailableError) as caught:
        await mailer.send(message())
    assert f"{sink.host}:{sink.port}" in caught.value.reason

    sink.start()
    await mailer.send(message())
    assert len(sink.messages) == 2


async def test_a_connection_the_server_dropped_while_idle_is_replaced(
    sink: SmtpSink, mailer: Mailer
) -> None:
    await mailer.send(message())
    sink.stop()
    sink.start()

    await mailer.send(message())

    assert len(sink.messages) == 2


async def test_a_server_that_does_not_answer_in_time_is_unavailable(sink: SmtpSink) -> None:
    sink.set_delay(2.0)
    mailer = Mailer(sink.host, sink.port, timeout=0.2)
    try:
        with pytest.raises(ServerUnavailableError, match=r"did not answer within 0.2s"):
            await mailer.send(message())
    finally:
        await mailer.close()


async def test_the_pool_never_opens_more_than_max_connections(sink: SmtpSink) -> None:
    sink.set_delay(0.05)
    mailer = Mailer(sink.host, sink.port, max_connections=2, timeout=5.0)
    try:
        await asyncio.gather(*(mailer.send(message(f"user{i}@example.com")) for i in range(8)))
    finally:
        await mailer.close()

    assert len(sink.messages) == 8
    assert sink.peak_connections == 2
    assert sink.connections_accepted == 2


async def test_close_says_goodbye_to_pooled_connections(sink: SmtpSink) -> None:
    mailer = Mailer(sink.host, sink.port, timeout=5.0)
    await mailer.send(message())

    await mailer.close()

    await _until(lambda: sink.open_connections == 0)


async def test_check_connection_talks_to_the_server_and_reports_its_greeting(
    sink: SmtpSink, mailer: Mailer
) -> None:
    reply = await mailer.check_connection()

    assert reply.startswith("250 sink.test")
    await _until(lambda: sink.open_connections == 0)


async def test_check_connection_reports_a_server_that_is_down(sink: SmtpSink) -> None:
    sink.stop()
    mailer = Mailer(sink.host, sink.port, timeout=2.0)

    with pytest.raises(ServerUnavailableError, match="unavailable"):
        await mailer.check_connection()


# --- TLS and AUTH -----------------------------------------------------------------------


async def test_starttls_with_an_untrusted_certificate_is_refused_by_default(
    tls_files: TlsFiles,
) -> None:
    with SmtpSink(tls=SinkTls.STARTTLS, tls_files=tls_files) as sink:
        mailer = Mailer(sink.host, sink.port, security=SmtpSecurity.STARTTLS, timeout=5.0)
        with pytest.raises(ServerUnavailableError, match="certificate verify failed"):
            await mailer.send(message())
        assert sink.messages == []


async def test_starttls_with_the_private_ca_trusted_delivers_encrypted(
    tls_files: TlsFiles,
) -> None:
    with SmtpSink(tls=SinkTls.STARTTLS, tls_files=tls_files) as sink:
        mailer = Mailer(
            sink.host,
            sink.port,
            security=SmtpSecurity.STARTTLS,
            ca_file=str(tls_files.ca_file),
            timeout=5.0,
        )
        await mailer.send(message())
        await mailer.close()
        [received] = sink.messages
    assert received.tls


async def test_a_server_requiring_starttls_refuses_plain_sessions_without_killing_mail(
    tls_files: TlsFiles,
) -> None:
    with SmtpSink(tls=SinkTls.STARTTLS, tls_files=tls_files) as sink:
        mailer = Mailer(sink.host, sink.port, security=SmtpSecurity.NONE, timeout=5.0)
        with pytest.raises(ServerUnavailableError, match="530"):
            await mailer.send(message())
        await mailer.close()
        assert sink.messages == []


async def test_implicit_tls_delivers_encrypted_and_verifies_by_default(
    tls_files: TlsFiles,
) -> None:
    with SmtpSink(tls=SinkTls.IMPLICIT, tls_files=tls_files) as sink:
        untrusting = Mailer(sink.host, sink.port, security=SmtpSecurity.TLS, timeout=5.0)
        with pytest.raises(ServerUnavailableError, match="certificate verify failed"):
            await untrusting.send(message())

        trusting = Mailer(
            sink.host, sink.port, security="tls", ca_file=str(tls_files.ca_file), timeout=5.0
        )
        await trusting.send(message())
        await trusting.close()
        [received] = sink.messages
    assert received.tls


async def test_verify_tls_off_accepts_any_certificate(tls_files: TlsFiles) -> None:
    with SmtpSink(tls=SinkTls.IMPLICIT, tls_files=tls_files) as sink:
        mailer = Mailer(
            sink.host, sink.port, security=SmtpSecurity.TLS, verify_tls=False, timeout=5.0
        )
        await mailer.send(message())
        await mailer.close()
        assert len(sink.messages) == 1


async def test_auth_over_tls_logs_in_as_the_configured_user(tls_files: TlsFiles) -> None:
    logins = {"notifier": PASSWORD}
    with SmtpSink(tls=SinkTls.IMPLICIT, tls_files=tls_files, logins=logins) as sink:
        mailer = Mailer(
            sink.host,
            sink.port,
            security=SmtpSecurity.TLS,
            user="notifier",
            password=PASSWORD,
            ca_file=str(tls_files.ca_file),
            timeout=5.0,
        )
        await mailer.send(message())
        await mailer.close()
        [received] = sink.messages
    assert received.login == "notifier"


async def test_a_refused_login_is_not_the_messages_fault_and_never_shows_the_password(
    tls_files: TlsFiles, caplog: pytest.LogCaptureFixture
) -> None:
    logins = {"notifier": "another-password"}
    with SmtpSink(tls=SinkTls.IMPLICIT, tls_files=tls_files, logins=logins) as sink:
        mailer = Mailer(
            sink.host,
            sink.port,
            security=SmtpSecurity.TLS,
            user="notifier",
            password=PASSWORD,
            ca_file=str(tls_files.ca_file),
            timeout=5.0,
        )
        with pytest.raises(ServerUnavailableError) as sending:
            await mailer.send(message())
        with pytest.raises(ServerUnavailableError) as checking:
            await mailer.check_connection()
        assert sink.messages == []
        assert sink.failed_logins >= 2

    for error in (sending.value, checking.value):
        assert "refused the login of user 'notifier'" in str(error)
        assert "535" in str(error)
        assert PASSWORD not in str(error)
        assert PASSWORD not in repr(error)
    assert PASSWORD not in repr(mailer)
    assert PASSWORD not in caplog.text


async def _until(condition: object, within: float = 5.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
