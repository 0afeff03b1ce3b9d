"""The retry policy: when a delivery that failed for now is tried again, and when never.

A value, no I/O: exponential backoff with full jitter (a random delay between 0 and a cap
that doubles with every attempt, up to `max_backoff`), a wait the far end asked for
(Retry-After) honoured up to the same cap, and a maximum age after which a delivery still
failing is given up. The age counts from `pending_since` (creation, or an operator's retry).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

BASE_BACKOFF = 2.0
"""Seconds: the cap of the first retry's delay; it doubles with every attempt."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_backoff`: cap of one wait, seconds. `max_age`: seconds a delivery may keep
    failing before it is dead. `rng`: the jitter's source (seeded in tests)."""

    max_backoff: float = 600.0
    max_age: float = 172_800.0
    base: float = BASE_BACKOFF
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: full jitter, capped."""
        ceiling = min(self.max_backoff, self.base * 2 ** min(attempts, 32))
        return self.rng.uniform(0.0, ceiling)

    def too_old(self, pending_since: datetime, now: datetime) -> bool:
        return now - pending_since >= timedelta(seconds=self.max_age)

    def next_attempt(
        self, attempts: int, now: datetime, retry_after: float | None = None
    ) -> datetime:
        """When to try again: after the backoff, or the far end's Retry-After (capped)."""
        if retry_after is not None and retry_after >= 0:
            delay = min(retry_after, self.max_backoff)
        else:
            delay = self.backoff(attempts)
        return now + timedelta(seconds=delay)


def span(age: timedelta) -> str:
    """An age as operators read it in a reason: "3.5 h" or "40 s"."""
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{age.total_seconds():.0f} s"
