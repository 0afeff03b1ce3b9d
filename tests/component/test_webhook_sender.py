"""The webhook sender against a real aiohttp.web receiver: answers, retries, TLS, secrecy."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier.webhook.errors import WebhookGiveUp, WebhookRetryLater
from notifier.webhook.sender import WebhookSender
from notifier.webhook.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from notifier.webhook.target import WebhookFormat, WebhookTarget
from tests.smtp_sink import make_tls_files
from tests.webhook_receiver import HANG, Answer, WebhookReceiver

SECRET = "whsec-7f3a9c1e"
PATH = "/services/T000/B000/XXXXsecretpathXXXX"
BODY = json.dumps({"id": "ev-1", "event": "finished", "outcome": "failed"}).encode()
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(clock=lambda: NOW)
    yield sender
    await sender.close()


def target(base: str, *, timeout: float = 5.0, ca_file: str | None = None) -> WebhookTarget:
    return WebhookTarget(
        name="ops",
        url=base + PATH + "?token=qs-s3cr3t",
        format=WebhookFormat.JSON,
        secret=SECRET,
        timeout=timeout,
        ca_file=ca_file,
    )


def assert_secret_free(text: str) -> None:
    for secret in (SECRET, "XXXXsecretpathXXXX", "qs-s3cr3t", "T000/B000"):
        assert secret not in text


async def test_a_503_is_retried_and_the_next_attempt_is_delivered_signed(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    hook = target(await receiver.start())
    receiver.answers.append(Answer(503, "upstream down"))
    with pytest.raises(WebhookRetryLater) as first:
        await sender.post(hook, "ev-1", BODY)
    assert first.value.status == 503 and first.value.outage and first.value.retry_after is None
    assert "HTTP 503: upstream down" in first.value.reason
    assert await sender.post(hook, "ev-1", BODY) == "HTTP 200"
    assert len(receiver.received) == 2
    for got in receiver.received:
        assert got.body == BODY
        assert got.path == PATH and got.query == "token=qs-s3cr3t"
        assert got.headers[EVENT_ID_HEADER] == "ev-1"
        assert got.headers["Content-Type"] == "application/json; charset=utf-8"
        assert verify(SECRET, got.body, got.headers[SIGNATURE_HEADER])


async def test_without_a_secret_there_is_no_signature_header(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    base = await receiver.start()
    unsigned = WebhookTarget(name="plain", url=base + "/hook")
    assert await sender.post(unsigned, "ev-2", BODY) == "HTTP 200"
    assert SIGNATURE_HEADER not in receiver.received[0].headers
    assert receiver.received[0].headers[EVENT_ID_HEADER] == "ev-2"


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [("7", 7.0), ("Tue, 01 Dec 2026 09:02:00 GMT", 120.0), ("soon", None)],
)
async def test_a_429_is_retried_after_the_delay_the_receiver_asked_for(
    receiver: WebhookReceiver, sender: WebhookSender, retry_after: str, seconds: float | None
) -> None:
    hook = target(await receiver.start())
    receiver.answers.append(Answer(429, "slow down", {"Retry-After": retry_after}))
    with pytest.raises(WebhookRetryLater) as raised:
        await sender.post(hook, "ev-1", BODY)
    assert raised.value.status == 429 and not raised.value.outage
    assert raised.value.retry_after == seconds


async def test_a_400_gives_up_with_the_status_and_a_cleaned_excerpt_never_the_secrets(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    hook = target(await receiver.start())
    echo = f"invalid_payload\x1b[31m for {PATH}?token=qs-s3cr3t " + "x" * 500
    receiver.answers.append(Answer(400, echo))
    with pytest.raises(WebhookGiveUp) as raised:
        await sender.post(hook, "ev-1", BODY)
    reason = raised.value.reason
    assert raised.value.status == 400
    assert reason.startswith("HTTP 400: invalid_payload"), "the answer first, as listed"
    assert "webhook 'ops' at http://127.0.0.1:" in reason and "/…" in reason
    assert "\x1b" not in reason and len(reason) < 400
    assert_secret_free(reason)


async def test_a_redirect_is_not_followed_and_gives_up_saying_what_to_fix(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    hook = target(await receiver.start())
    receiver.answers.append(Answer(302, "", {"Location": "https://elsewhere.example/hook"}))
    with pytest.raises(WebhookGiveUp, match="redirect, not followed"):
        await sender.post(hook, "ev-1", BODY)
    assert len(receiver.received) == 1


async def test_a_receiver_that_hangs_times_out_as_an_outage(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    hook = target(await receiver.start(), timeout=0.5)
    receiver.answers.append(Answer(HANG))
    started = time.monotonic()
    with pytest.raises(WebhookRetryLater, match=r"did not answer within 0\.5 s") as raised:
        await sender.post(hook, "ev-1", BODY)
    assert time.monotonic() - started < 3
    assert raised.value.outage
    assert_secret_free(raised.value.reason)


async def test_an_unreachable_receiver_is_retried_later_without_the_secrets(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    base = await receiver.start()
    await receiver.stop()
    with pytest.raises(WebhookRetryLater, match="could not be reached") as raised:
        await sender.post(target(base), "ev-1", BODY)
    assert raised.value.outage
    assert_secret_free(raised.value.reason)


async def test_tls_with_a_private_ca_is_refused_by_default_and_trusted_with_ca_file(
    receiver: WebhookReceiver, sender: WebhookSender, tmp_path: Path
) -> None:
    tls = make_tls_files(tmp_path)
    base = await receiver.start(ssl_context=tls.server_context())
    assert base.startswith("https://")
    with pytest.raises(WebhookRetryLater, match="certificate") as raised:
        await sender.post(target(base), "ev-1", BODY)
    assert_secret_free(raised.value.reason)
    assert receiver.received == []
    assert await sender.post(target(base, ca_file=str(tls.ca_file)), "ev-1", BODY) == "HTTP 200"
    assert receiver.received[0].body == BODY


async def test_an_unreadable_ca_file_is_named_in_the_error(
    sender: WebhookSender, tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(WebhookRetryLater, match="ca_file"):
        await sender.post(target("https://127.0.0.1:9", ca_file=missing), "ev-1", BODY)
