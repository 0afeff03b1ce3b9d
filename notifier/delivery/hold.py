"""Digest holding, as the delivery loop sees it: the settings and the decision's signature.

`HoldPolicy` is the seam: given when a recipient was last sent messages on one channel, say
whether the next one goes now (None) or is held until when. `count_in_window` is the rule
the loop uses until the digest policy of notifier.core is connected in its place.
Pure: no I/O, no clock (`now` comes in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """`[digest]`: `after` messages one by one within `window`, then a digest (0: never)."""

    after: int = 0
    window: timedelta = timedelta(seconds=600)

    @property
    def enabled(self) -> bool:
        return self.after > 0


class HoldPolicy(Protocol):
    def __call__(
        self, sends: Sequence[datetime], now: datetime, settings: DigestSettings
    ) -> datetime | None:
        """None: send now. Else: hold until then. `sends`: when this recipient was sent a
        message on this channel within the last `settings.window` (a digest counts once),
        oldest first, including those the loop has just decided to send."""
        ...


def count_in_window(
    sends: Sequence[datetime], now: datetime, settings: DigestSettings
) -> datetime | None:
    """Beyond `after` sends within the window, hold until the window of the oldest of them
    ends: then the held ones go as one digest."""
    if not settings.enabled:
        return None
    recent = sorted(at for at in sends if now - at < settings.window)
    if len(recent) < settings.after:
        return None
    return recent[-settings.after] + settings.window
