"""Burst control (notifier.core.digest): who waits for a digest, and for how long."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.core.digest import (
    SEND_NOW,
    Decision,
    DigestSettings,
    DigestSettingsError,
    decide,
    due,
    hold_until,
    recent,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIVE_IN_TEN_MINUTES = DigestSettings(after=5, window=timedelta(seconds=600))


def at(seconds: float) -> datetime:
    """`seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def times(*seconds: float) -> list[datetime]:
    return [at(s) for s in seconds]


def test_a_recipient_under_the_threshold_is_never_delayed() -> None:
    assert decide([], at(1_000), FIVE_IN_TEN_MINUTES) == SEND_NOW
    assert decide(times(990, 995, 996, 999), at(1_000), FIVE_IN_TEN_MINUTES).send_now


def test_beyond_the_threshold_the_message_waits_for_the_end_of_the_window() -> None:
    decision = decide(times(100, 200, 300, 400, 500), at(550), FIVE_IN_TEN_MINUTES)
    assert not decision.send_now
    assert decision.hold_until == at(700)  # the first of the five counted sends, 600 s on
    assert hold_until(times(100, 200, 300, 400, 500), at(550), FIVE_IN_TEN_MINUTES) == at(700)


def test_sends_older_than_the_window_no_longer_count() -> None:
    sent = times(10, 20, 30, 40, 50)
    assert decide(sent, at(605), FIVE_IN_TEN_MINUTES) == Decision(hold_until=at(610))
    assert decide(sent, at(615), FIVE_IN_TEN_MINUTES).send_now
    assert hold_until(sent, at(615), FIVE_IN_TEN_MINUTES) is None
    assert recent(times(10, 700, 50, 690), at(700), FIVE_IN_TEN_MINUTES) == times(690, 700)


def test_messages_arriving_while_others_are_held_join_them() -> None:
    # Even though the sends have aged out by now, held messages are not overtaken.
    decision = decide([], at(2_000), FIVE_IN_TEN_MINUTES, held_until=at(2_100))
    assert decision == Decision(at(2_100))
    assert due(at(2_100), at(2_100)) and not due(at(2_100), at(2_099.5))
    assert not due(None, at(5))


def test_a_hold_never_outlasts_one_window_from_now_even_after_the_clock_steps_back() -> None:
    # Sends recorded at 10_000 s and later, but the clock now reads 1_000 s.
    sent = times(10_000, 10_001, 10_002, 10_003, 10_004)
    assert decide(sent, at(1_000), FIVE_IN_TEN_MINUTES).hold_until == at(1_600)
    later = decide([], at(1_000), FIVE_IN_TEN_MINUTES, held_until=at(90_000))
    assert later.hold_until == at(1_600)


@pytest.mark.parametrize(
    "off", [DigestSettings(after=0), DigestSettings(after=5, window=timedelta(0))]
)
def test_digests_off_sends_everything_at_once(off: DigestSettings) -> None:
    assert not off.enabled
    assert decide([at(1)] * 100, at(1), off).send_now
    assert decide([], at(1), off, held_until=at(50)).send_now
    assert recent([at(1)], at(1), off) == []


@pytest.mark.parametrize("bad", [{"after": -1}, {"window": timedelta(seconds=-1)}])
def test_nonsensical_settings_are_refused_naming_the_key(bad: dict[str, object]) -> None:
    with pytest.raises(DigestSettingsError, match=r"digest\.(after|window)"):
        DigestSettings(**bad)  # type: ignore[arg-type]


@dataclass
class Mailbox:
    """One recipient's mailbox as the delivery loop would fill it, driven by `decide`."""

    rules: DigestSettings
    singles: list[datetime] = field(default_factory=list)
    digests: list[tuple[datetime, list[datetime]]] = field(default_factory=list)
    held: list[datetime] = field(default_factory=list)
    held_until: datetime | None = None
    longest_wait: timedelta = timedelta(0)

    def arrive(self, now: datetime) -> None:
        self.release(now)
        decision = decide(self.singles, now, self.rules, self.held_until)
        if decision.send_now:
            self.singles.append(now)
        else:
            self.held.append(now)
            self.held_until = decision.hold_until

    def release(self, now: datetime) -> None:
        if self.held_until is not None and due(self.held_until, now):
            self.digests.append((self.held_until, self.held))
            waits = (self.held_until - t for t in self.held)
            self.longest_wait = max(self.longest_wait, *waits)
            self.held, self.held_until = [], None


def test_forty_jobs_finishing_together_make_five_emails_and_one_digest_of_the_rest() -> None:
    mailbox = Mailbox(FIVE_IN_TEN_MINUTES)
    for _ in range(40):
        mailbox.arrive(at(1_000))
    mailbox.release(at(1_600))
    assert mailbox.singles == [at(1_000)] * 5
    assert [(when, len(held)) for when, held in mailbox.digests] == [(at(1_600), 35)]


def test_a_steady_stream_gets_after_singles_and_one_digest_per_window() -> None:
    mailbox = Mailbox(FIVE_IN_TEN_MINUTES)
    for minute in range(60):  # one job a minute for an hour
        mailbox.arrive(at(minute * 60))
    mailbox.release(at(3_600 + 600))
    assert len(mailbox.singles) == 30  # five in each of six windows
    assert len(mailbox.digests) == 6
    assert sum(len(held) for _, held in mailbox.digests) == 30


# Quarter seconds: exact in binary, so sums of times and windows carry no rounding error.
quarters = st.integers(min_value=0, max_value=4 * 7_200).map(lambda q: at(q / 4))
arrivals = st.lists(quarters, max_size=80)
rules = st.builds(
    DigestSettings,
    after=st.integers(min_value=0, max_value=8),
    window=st.integers(min_value=0, max_value=4 * 1_800).map(lambda q: timedelta(seconds=q / 4)),
)


@given(arrived=arrivals, rules=rules)
@settings(max_examples=300)
def test_nothing_is_lost_and_no_window_holds_more_than_after_singles(
    arrived: list[datetime], rules: DigestSettings
) -> None:
    mailbox = Mailbox(rules)
    for now in sorted(arrived):
        mailbox.arrive(now)
    mailbox.release(datetime.max.replace(tzinfo=UTC))
    delivered = mailbox.singles + [t for _, held in mailbox.digests for t in held]
    assert sorted(delivered) == sorted(arrived)
    assert mailbox.longest_wait <= rules.window
    if rules.enabled:
        for start in mailbox.singles:
            in_window = [t for t in mailbox.singles if start <= t < start + rules.window]
            assert len(in_window) <= rules.after
    else:
        assert mailbox.digests == []


@given(sent=st.lists(quarters, max_size=30), now=quarters, rules=rules)
def test_under_the_threshold_means_now_and_a_hold_ends_within_one_window(
    sent: list[datetime], now: datetime, rules: DigestSettings
) -> None:
    decision = decide(sent, now, rules)
    counted = [t for t in sent if t > now - rules.window]
    if not rules.enabled or len(counted) < rules.after:
        assert decision.send_now
    else:
        assert decision.hold_until is not None
        assert now < decision.hold_until <= now + rules.window
