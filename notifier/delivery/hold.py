"""Digest holding, as the delivery loop sees it: the decision's signature.

`HoldPolicy` is the seam: given when a recipient was last sent messages on one channel, say
whether the next one goes now (None) or is held until when. The rule itself, and the
`[digest]` settings, are notifier.core.digest's; `hold_until` there is the policy the loop
uses. Pure: no I/O, no clock (`now` comes in).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from notifier.core.digest import DigestSettings, hold_until

__all__ = ["NO_DIGESTS", "DigestSettings", "HoldPolicy", "hold_until"]

NO_DIGESTS = DigestSettings(after=0)
"""What the loop holds to when it is given no `[digest]` settings: every message at once."""


class HoldPolicy(Protocol):
    def __call__(
        self, sends: Sequence[datetime], now: datetime, settings: DigestSettings
    ) -> datetime | None:
        """None: send now. Else: hold until then. `sends`: when this recipient was sent a
        message on this channel within the last `settings.window` (a digest counts once),
        oldest first, including those the loop has just decided to send."""
        ...
