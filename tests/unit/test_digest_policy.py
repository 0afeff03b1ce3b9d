"""Burst control (notifier.core.digest): who waits for a digest, and for how long."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    recent,
)

FIVE_IN_TEN_MINUTES = DigestSettings(after=5, window=600)


def test_a_recipient_under_the_threshold_is_never_delayed() -> None:
    assert decide([], 1_000.0, FIVE_IN_TEN_MINUTES) == SEND_NOW
    assert decide([990, 995, 996, 999], 1_000.0, FIVE_IN_TEN_MINUTES).send_now


def test_beyond_the_threshold_the_message_waits_for_the_end_of_the_window() -> None:
    decision = decide([100, 200, 300, 400, 500], 550.0, FIVE_IN_TEN_MINUTES)
    assert not decision.send_now
    assert decision.hold_until == 700.0  # the first of the five counted sends, 600 s on


def test_sends_older_than_the_window_no_longer_count() -> None:
    assert decide([10, 20, 30, 40, 50], 605.0, FIVE_IN_TEN_MINUTES) == Decision(hold_until=610)
    assert decide([10, 20, 30, 40, 50], 615.0, FIVE_IN_TEN_MINUTES).send_now
    assert recent([10, 700, 50, 690], 700.0, FIVE_IN_TEN_MINUTES) == [690, 700]


def test_messages_arriving_while_others_are_held_join_them() -> None:
    # Even though the sends have aged out by now, held messages are not overtaken.
    assert decide([], 2_000.0, FIVE_IN_TEN_MINUTES, held_until=2_100.0) == Decision(2_100.0)
    assert due(2_100.0, 2_100.0) and not due(2_100.0, 2_099.9) and not due(None, 5.0)


def test_a_hold_never_outlasts_one_window_from_now_even_after_the_clock_steps_back() -> None:
    # Sends recorded at 10_000 and later, but the clock now reads 1_000.
    decision = decide([10_000, 10_001, 10_002, 10_003, 10_004], 1_000.0, FIVE_IN_TEN_MINUTES)
    assert decision.hold_until == 1_600.0
    assert decide([], 1_000.0, FIVE_IN_TEN_MINUTES, held_until=90_000.0).hold_until == 1_600.0


@pytest.mark.parametrize("off", [DigestSettings(after=0), DigestSettings(after=5, window=0)])
def test_digests_off_sends_everything_at_once(off: DigestSettings) -> None:
    assert not off.enabled
    assert decide([1.0] * 100, 1.0, off).send_now
    assert decide([], 1.0, off, held_until=50.0).send_now
    assert recent([1.0], 1.0, off) == []


@pytest.mark.parametrize("bad", [{"after": -1}, {"window": -1.0}])
def test_nonsensical_settings_are_refused_naming_the_key(bad: dict[str, float]) -> None:
    with pytest.raises(DigestSettingsError, match=r"digest\.(after|window)"):
        DigestSettings(**bad)  # type: ignore[arg-type]


@dataclass
class Recipient:
    """One recipient's mailbox as the delivery loop would fill it, driven by `decide`."""

    rules: DigestSettings
    singles: list[float] = field(default_factory=list)
    digests: list[tuple[float, list[float]]] = field(default_factory=list)
    held: list[float] = field(default_factory=list)
    held_until: float | None = None
    longest_wait: float = 0.0

    def arrive(self, now: float) -> None:
        self.release(now)
        decision = decide(self.singles, now, self.rules, self.held_until)
        if decision.send_now:
            self.singles.append(now)
        else:
            self.held.append(now)
            self.held_until = decision.hold_until

    def release(self, now: float) -> None:
        if self.held_until is not None and due(self.held_until, now):
            self.digests.append((self.held_until, self.held))
            self.longest_wait = max(self.longest_wait, *(self.held_until - t for t in self.held))
            self.held, self.held_until = [], None


def test_forty_jobs_finishing_together_make_five_emails_and_one_digest_of_the_rest() -> None:
    mailbox = Recipient(FIVE_IN_TEN_MINUTES)
    for _ in range(40):
        mailbox.arrive(1_000.0)
    mailbox.release(1_600.0)
    assert mailbox.singles == [1_000.0] * 5
    assert [(at, len(held)) for at, held in mailbox.digests] == [(1_600.0, 35)]


def test_a_steady_stream_gets_after_singles_and_one_digest_per_window() -> None:
    mailbox = Recipient(FIVE_IN_TEN_MINUTES)
    for minute in range(60):  # one job a minute for an hour
        mailbox.arrive(minute * 60.0)
    mailbox.release(3_600.0 + 600)
    assert len(mailbox.singles) == 30  # five in each of six windows
    assert len(mailbox.digests) == 6
    assert sum(len(held) for _, held in mailbox.digests) == 30


# Quarter seconds: exact in binary, so sums of times and windows carry no rounding error.
quarters = st.integers(min_value=0, max_value=4 * 7_200).map(lambda q: q / 4)
arrivals = st.lists(quarters, max_size=80)
rules = st.builds(
    DigestSettings,
    after=st.integers(min_value=0, max_value=8),
    window=st.integers(min_value=0, max_value=4 * 1_800).map(lambda q: q / 4),
)


@given(times=arrivals, rules=rules)
@settings(max_examples=300)
def test_nothing_is_lost_and_no_window_holds_more_than_after_singles(
    times: list[float], rules: DigestSettings
) -> None:
    mailbox = Recipient(rules)
    for now in sorted(times):
        mailbox.arrive(now)
    mailbox.release(float("inf"))
    delivered = mailbox.singles + [t for _, held in mailbox.digests for t in held]
    assert sorted(delivered) == sorted(times)
    assert mailbox.longest_wait <= rules.window
    if rules.enabled:
        for start in mailbox.singles:
            in_window = [t for t in mailbox.singles if start <= t < start + rules.window]
            assert len(in_window) <= rules.after
    else:
        assert mailbox.digests == []


@given(
    sent=st.lists(quarters, max_size=30),
    now=quarters,
    rules=rules,
)
def test_under_the_threshold_means_now_and_a_hold_ends_within_one_window(
    sent: list[float], now: float, rules: DigestSettings
) -> None:
    decision = decide(sent, now, rules)
    counted = [t for t in sent if t > now - rules.window]
    if not rules.enabled or len(counted) < rules.after:
        assert decision.send_now
    else:
        assert decision.hold_until is not None
        assert now < decision.hold_until <= now + rules.window
