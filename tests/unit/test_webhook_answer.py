"""Webhook answers, Retry-After, redaction and the signature (notifier.webhook)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.webhook.answer import MAX_RETRY_AFTER, check, excerpt, retry_after_seconds
from notifier.webhook.errors import WebhookGiveUp, WebhookRetryLater
from notifier.webhook.signing import SIGNATURE_HEADER, request_headers, signature, verify
from notifier.webhook.target import WebhookFormat, WebhookTarget, redacted

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SLACK = WebhookTarget(
    name="chat",
    url="https://user:pw@hooks.slack.com/services/T0AAA/B0BBB/abcdefSECRET?key=k3y-val",
    secret="shh-its-secret",
)


def test_the_signature_is_the_hmac_sha256_of_the_raw_body() -> None:
    body = '{"id":"e1","name":"Frühjahr"}'.encode()
    expected = hmac.new(b"shh-its-secret", body, hashlib.sha256).hexdigest()
    assert signature("shh-its-secret", body) == f"sha256={expected}"
    headers = request_headers("e1", body, "shh-its-secret")
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert verify("shh-its-secret", body, headers[SIGNATURE_HEADER])
    assert not verify("shh-its-secret", body + b" ", headers[SIGNATURE_HEADER])
    assert not verify("other", body, headers[SIGNATURE_HEADER])
    assert not verify("shh-its-secret", body, None)
    assert SIGNATURE_HEADER not in request_headers("e1", body)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        (" 30 ", 30.0),
        ("-5", None),
        ("1.5", None),
        ("99999999", MAX_RETRY_AFTER),
        ("Tue, 01 Dec 2026 09:00:45 GMT", 45.0),
        ("Tue, 01 Dec 2026 08:00:00 GMT", 0.0),  # in the past: at once
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # the obsolete RFC 850 form
        ("next tuesday", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_every_2xx_is_delivered(status: int) -> None:
    assert check(SLACK, status, None, b"", NOW) == f"HTTP {status}"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_retried(status: int) -> None:
    with pytest.raises(WebhookRetryLater) as raised:
        check(SLACK, status, "12", b"busy", NOW)
    assert raised.value.retry_after == 12.0
    assert raised.value.outage is (status != 429)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 301, 308])
def test_other_answers_give_up(status: int) -> None:
    with pytest.raises(WebhookGiveUp) as raised:
        check(SLACK, status, None, b"no_service", NOW)
    assert f"HTTP {status}: no_service" in raised.value.reason


def test_nothing_secret_of_the_url_is_ever_shown() -> None:
    assert redacted(SLACK.url) == "https://hooks.slack.com/…"
    assert redacted("http://[::1]:8080/a/b?c=d") == "http://[::1]:8080/…"
    assert SLACK.where == "https://hooks.slack.com/…"
    assert "SECRET" not in repr(SLACK) and "shh" not in repr(SLACK)
    echoed = (
        f"bad request to {SLACK.url} (path /services/T0AAA/B0BBB/abcdefSECRET, key k3y-val, "
        "user:pw, shh-its-secret)"
    ).encode()
    text = excerpt(echoed, SLACK)
    for secret in ("abcdefSECRET", "k3y-val", "user:pw", "shh-its-secret", "T0AAA/B0BBB"):
        assert secret not in text
    assert text.startswith("bad request to …")


def test_an_excerpt_is_one_short_line() -> None:
    text = excerpt(b"line one\r\n\tline two\x00\x07" + "é".encode() * 1000, SLACK)
    assert text.startswith("line one line two")
    assert len(text) <= 200 and text.endswith("…")
    assert excerpt(b"\xff\xfe broken", SLACK) == "\ufffd\ufffd broken"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "hooks.slack.com/services/x", "https:///nohost"]
)
def test_a_target_needs_an_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="'ops': url must be an http"):
        WebhookTarget(name="ops", url=url)


secret_text = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="-_."),
    min_size=8,
    max_size=40,
)


@given(path=secret_text, token=secret_text, secret=secret_text, status=st.sampled_from([400, 503]))
@settings(max_examples=200)
def test_no_answer_ever_repeats_the_urls_path_query_or_the_secret(
    path: str, token: str, secret: str, status: int
) -> None:
    target = WebhookTarget(
        name="ops", url=f"https://hooks.example.com/{path}?token={token}", secret=secret
    )
    echo = f"{status} for {target.url} path=/{path} token={token} secret={secret}".encode()
    with pytest.raises((WebhookGiveUp, WebhookRetryLater)) as raised:
        check(target, status, None, echo, NOW)
    reason = str(raised.value)
    for hidden in (path, token, secret):
        assert hidden not in reason
    assert "https://hooks.example.com/…" in reason


def test_a_teams_connector_throttling_with_200_is_retried_like_a_429() -> None:
    teams = WebhookTarget(
        name="teams", url="https://x.webhook.office.com/webhookb2/a/b", format=WebhookFormat.TEAMS
    )
    throttled = b"Microsoft Teams endpoint returned HTTP error 429 with ContextId ..."
    with pytest.raises(WebhookRetryLater) as raised:
        check(teams, 200, None, throttled, NOW)
    assert raised.value.status == 429 and not raised.value.outage
    assert check(teams, 200, None, b"1", NOW) == "HTTP 200"
    assert check(SLACK, 200, None, throttled, NOW) == "HTTP 200"  # only Teams says it so
