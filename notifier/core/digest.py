"""Burst control: whether a recipient's next message goes now or waits for a digest.

Pure: a decision from values (the times this recipient was sent single messages, the time
its held messages are due, now, the `[digest]` settings); no clock, no store. Times are
aware datetimes on one clock. Owns the rule of docs/DESIGN.md ("Digests"):

- A recipient gets at most `after` single messages within any `window` seconds. While
  under that, a message goes at once: a recipient under the threshold is never delayed.
- Beyond it, further messages are held until the oldest of those `after` sends is `window`
  old, and then go as one digest; messages arriving while some are held join them. After
  the digest, the same rule applies again, window after window.
- A hold never lasts longer than `window` from now, even if the clock stepped back.

Whether a digest counts as a send is the caller's choice: `sent` is what it passes.
`after = 0` (or a zero `window`) turns digests off. Never decides what a digest contains
or how it is sent. `hold_until` has the delivery loop's HoldPolicy signature
(delivery/hold.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class DigestSettingsError(ValueError):
    """A `[digest]` setting that cannot work (negative threshold or window)."""


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """`after`: single messages one recipient gets within `window` seconds before the
    rest is held for a digest; 0 = no digests."""

    after: int = 5
    window: timedelta = timedelta(seconds=600)

    def __post_init__(self) -> None:
        if self.after < 0:
            raise DigestSettingsError("digest.after must be 0 (no digests) or more")
        if self.window < timedelta(0):
            raise DigestSettingsError("digest.window must be 0 (no digests) or more seconds")

    @property
    def enabled(self) -> bool:
        return enabled(self)


class Thresholds(Protocol):
    """What the rule reads of the settings (DigestSettings, or any value with the two)."""

    @property
    def after(self) -> int: ...

    @property
    def window(self) -> timedelta: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """Send now (`hold_until` is None), or hold until `hold_until`."""

    hold_until: datetime | None = None

    @property
    def send_now(self) -> bool:
        return self.hold_until is None


SEND_NOW = Decision()


def decide(
    sent: Iterable[datetime],
    now: datetime,
    settings: Thresholds,
    held_until: datetime | None = None,
) -> Decision:
    """Whether the recipient's next message goes now or is held, and until when.

    `sent`: when this recipient was sent single messages (any order; older ones than
    `window` are ignored, see `recent`). `held_until`: when the messages already held for
    this recipient are due, or None when none are held.
    """
    if not enabled(settings):
        return SEND_NOW
    if held_until is not None:
        return Decision(min(held_until, now + settings.window))
    times = recent(sent, now, settings)
    if len(times) < settings.after:
        return SEND_NOW
    # The count drops under `after` when the after-th most recent send is `window` old.
    oldest_counted = times[-settings.after]
    return Decision(min(oldest_counted + settings.window, now + settings.window))


def hold_until(sends: Iterable[datetime], now: datetime, settings: Thresholds) -> datetime | None:
    """None: send now; else hold until then (the delivery loop's HoldPolicy)."""
    return decide(sends, now, settings).hold_until


def recent(sent: Iterable[datetime], now: datetime, settings: Thresholds) -> list[datetime]:
    """The send times that still count at `now`, oldest first: what a store must keep."""
    if not enabled(settings):
        return []
    start = now - settings.window
    return sorted(t for t in sent if t > start)


def enabled(settings: Thresholds) -> bool:
    return settings.after > 0 and settings.window > timedelta(0)


def due(held_until: datetime | None, now: datetime) -> bool:
    """Whether held messages are due for their digest."""
    return held_until is not None and held_until <= now
