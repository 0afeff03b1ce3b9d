"""`notifier outbox`'s words: statuses repeatable or comma-listed, `--since` as an ISO time
or a duration, `--to` an address or a webhook; bad words name the option."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.routing import ChannelKind
from notifier.outbox.request import LISTED, OutboxUsageError, parse_since, parse_statuses, request
from notifier.store.protocol import DeliveryStatus

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def test_statuses_repeat_or_come_as_a_comma_list() -> None:
    assert parse_statuses([]) == LISTED
    assert parse_statuses(["sent", "dead,Skipped", "sent"]) == (
        DeliveryStatus.SENT,
        DeliveryStatus.DEAD,
        DeliveryStatus.SKIPPED,
    )
    expected = r"--status 'gone': expected pending\|held\|sent\|dead\|skipped"
    with pytest.raises(OutboxUsageError, match=expected):
        parse_statuses(["sent,gone"])


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("90s", NOW - timedelta(seconds=90)),
        ("1d12h", NOW - timedelta(hours=36)),
        ("1w", NOW - timedelta(days=7)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T08:30", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-03-01T08:30+01:00", datetime(2026, 3, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_since_is_an_iso_time_or_a_duration_back_from_now(word: str, expected: datetime) -> None:
    assert parse_since(word, NOW) == expected


def test_a_since_that_is_neither_says_what_it_takes() -> None:
    with pytest.raises(OutboxUsageError, match=r"--since '2 hours'.*2h"):
        parse_since("2 hours", NOW)


def test_to_is_an_address_or_a_webhook_and_show_needs_an_id() -> None:
    asked = request("list", to="webhook:ops", statuses=["sent"], now=NOW)
    assert asked.query.recipient is not None
    assert asked.query.recipient.channel is ChannelKind.WEBHOOK
    assert asked.narrowed
    assert not request("list").narrowed
    with pytest.raises(OutboxUsageError, match="show: give the delivery ID"):
        request("show")
