"""The retry policy (backoff with full jitter, Retry-After, maximum age) and the rule that
holds a recipient's messages for a digest."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from notifier.delivery.hold import DigestSettings, hold_until
from notifier.delivery.retry import RetryPolicy, span

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Ceiling(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_doubles_up_to_the_cap_and_full_jitter_spreads_it() -> None:
    policy = RetryPolicy(max_backoff=30.0, rng=Ceiling())
    assert [policy.backoff(n) for n in range(7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    jittered = RetryPolicy(max_backoff=30.0, rng=random.Random(7))
    delays = [jittered.backoff(10) for _ in range(200)]
    assert all(0.0 <= d <= 30.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100


def test_the_far_ends_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_backoff=600.0, rng=Ceiling())
    assert policy.next_attempt(0, NOW, retry_after=120.0) == NOW + timedelta(seconds=120)
    assert policy.next_attempt(0, NOW, retry_after=86_400.0) == NOW + timedelta(seconds=600)
    assert policy.next_attempt(3, NOW) == NOW + timedelta(seconds=16)


def test_a_delivery_is_too_old_at_its_maximum_age() -> None:
    policy = RetryPolicy(max_age=3600.0)
    assert not policy.too_old(NOW - timedelta(minutes=59), NOW)
    assert policy.too_old(NOW - timedelta(hours=1), NOW)
    assert span(timedelta(hours=72)) == "72.0 h"
    assert span(timedelta(seconds=40)) == "40 s"


def test_under_the_threshold_nothing_is_held() -> None:
    settings = DigestSettings(after=3, window=timedelta(minutes=10))
    sends = [NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)]
    assert hold_until(sends, NOW, settings) is None


def test_beyond_the_threshold_the_rest_waits_for_the_end_of_the_window() -> None:
    settings = DigestSettings(after=3, window=timedelta(minutes=10))
    first = NOW - timedelta(minutes=4)
    sends = [first, NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)]
    assert hold_until(sends, NOW, settings) == first + timedelta(minutes=10)


def test_sends_older_than_the_window_do_not_count_and_zero_means_never() -> None:
    settings = DigestSettings(after=2, window=timedelta(minutes=10))
    old = [NOW - timedelta(minutes=30), NOW - timedelta(minutes=20), NOW - timedelta(minutes=1)]
    assert hold_until(old, NOW, settings) is None
    many = [NOW - timedelta(seconds=n) for n in range(50)]
    assert hold_until(many, NOW, DigestSettings(after=0)) is None
