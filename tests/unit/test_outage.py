"""The outage tracker: one WARNING when a far end goes down, a reminder at most every
`remind_every`, one INFO when it works again; the hook hears of every change."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.routing import ChannelKind
from notifier.delivery.outage import OutageTracker

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAIL = (ChannelKind.EMAIL, None)
WHERE = "SMTP server mail.example.com:25"
REFUSED = f"{WHERE} unavailable: [Errno 111] Connection refused"


def test_an_outage_is_told_once_then_reminded_then_ended(caplog: pytest.LogCaptureFixture) -> None:
    heard: list[tuple[str | None, bool]] = []
    tracker = OutageTracker(
        remind_every=timedelta(minutes=5),
        on_change=lambda channel, name, up, at: heard.append((name, up)),
    )
    caplog.set_level(logging.DEBUG, "notifier.delivery.outage")
    assert tracker.succeeded(MAIL, T0) is True, "the first success since start is 'back'"
    assert tracker.succeeded(MAIL, T0) is False
    for second in range(600):  # ten minutes of a failure a second
        tracker.failed(MAIL, WHERE, REFUSED, T0 + timedelta(seconds=second))
    (outage,) = tracker.current()
    assert outage.failures == 600
    assert outage.describe(T0 + timedelta(seconds=600)).startswith(REFUSED)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
    assert REFUSED in warnings[0].getMessage()
    assert "still failing after 300 s" in warnings[1].getMessage()

    ended = tracker.succeeded(MAIL, T0 + timedelta(seconds=601))

    assert ended is not True and ended is not False and ended.failures == 600
    assert tracker.current() == []
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == [f"{WHERE} works again after 601 s (600 attempts failed)"]
    assert heard == [(None, True), (None, True), (None, False), (None, True)]


def test_a_reason_without_the_server_gets_its_name(caplog: pytest.LogCaptureFixture) -> None:
    tracker = OutageTracker()
    tracker.failed(MAIL, WHERE, "421 4.3.2 Service shutting down", T0)
    assert caplog.records[0].getMessage().startswith(f"{WHERE}: 421 4.3.2 Service shutting down")
