"""`notifier send-test`: a sample email through the configured relay (STARTTLS and AUTH, as
the e2e sink wants), through the real process; a refused recipient and a server that is down
give the server's answer and what to check, with exit status 1."""

from __future__ import annotations

from tests.e2e.conftest import SENDER, SMTP_USER, Notifier, World


async def test_send_test_delivers_a_sample_in_the_asked_language(
    world: World, notifier: Notifier
) -> None:
    config = str(world.config())

    result = await notifier.run(
        "send-test", "-c", config, "--to", "ops@example.com", "--locale", "ja-JP"
    )

    assert result.returncode == 0, result.output
    assert "accepted: " in result.stdout
    (received,) = world.sink.messages
    assert received.rcpt_tos == ("ops@example.com",)
    assert received.tls and received.login == SMTP_USER
    mail = received.message
    assert str(mail["To"]) == "ops@example.com"
    assert str(mail["From"]) == SENDER
    assert str(mail["Content-Language"]) == "ja-JP"
    assert str(mail["X-IPS-Job-Event"]) == "finished"
    assert "Reply-To" not in mail
    assert str(mail["Message-ID"]) in result.stdout
    again = await notifier.run("send-test", "-c", config, "--to", "ops@example.com")
    assert again.returncode == 0, again.output
    first, second = (m.message for m in world.sink.messages)
    assert first["Message-ID"] != second["Message-ID"], "a repeated test must not look like a dup"
    assert not world.store.exists(), "send-test never touches the store"


async def test_send_test_carries_what_the_service_sends_reply_to_and_message_id_domain(
    world: World, notifier: Notifier
) -> None:
    config = world.config(
        notify={"reply_to": "DMC Team <dmc-team@example.com>"},
        smtp={"message_id_domain": "mail.example.net"},
    )

    result = await notifier.run("send-test", "-c", str(config), "--to", "ops@example.com")

    assert result.returncode == 0, result.output
    (received,) = world.sink.messages
    assert str(received.message["Reply-To"]) == "DMC Team <dmc-team@example.com>"
    assert str(received.message["Message-ID"]).endswith("@mail.example.net>")


async def test_send_test_other_event(world: World, notifier: Notifier) -> None:
    result = await notifier.run(
        "send-test", "-c", str(world.config()), "--to", "ops@example.com", "--event", "stalled"
    )
    assert result.returncode == 0, result.output
    (received,) = world.sink.messages
    assert str(received.message["X-IPS-Job-Event"]) == "stalled"
    wrong = await notifier.run(
        "send-test", "-c", str(world.config()), "--to", "ops@example.com", "--event", "exploded"
    )
    assert wrong.returncode == 2
    assert "valid events: queued, started" in wrong.stderr


async def test_a_refused_recipient_gives_the_reply_and_what_to_check(
    world: World, notifier: Notifier
) -> None:
    world.sink.refuse_recipient("nobody@example.com", 550, "5.1.1 No such user here")

    result = await notifier.run(
        "send-test", "-c", str(world.config()), "--to", "nobody@example.com"
    )

    assert result.returncode == 1, result.output
    assert "FAILED" in result.stdout
    assert "550 5.1.1 No such user here" in result.stdout
    assert "check: the address nobody@example.com" in result.stdout
    assert world.sink.messages == []


async def test_a_server_that_is_down_gives_the_error_and_what_to_check(
    world: World, notifier: Notifier
) -> None:
    config = str(world.config())
    world.sink.stop()

    result = await notifier.run("send-test", "-c", config, "--to", "ops@example.com")

    assert result.returncode == 1, result.output
    assert f"SMTP server {world.sink.host}:{world.sink.port} unavailable" in result.stdout
    assert "check: that smtp.host and smtp.port" in result.stdout
    assert "check-config --connect" in result.stdout
    world.sink.start()  # the fixture stops it at the end
