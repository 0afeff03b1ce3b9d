"""The settings of the diff: when a missing job is finished, when it stalls, which steps count.

Pure values, validated at construction so that the reducer never meets a nonsensical rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


class RulesError(ValueError):
    """A diff setting that cannot work (for example zero confirmation polls)."""


@dataclass(frozen=True, slots=True)
class DiffRules:
    """`finish_confirm_polls`: successful polls of its scope a job must be missing from before
    it counts as finished. `stall_after`: how long a Running job's progress may stay still
    before it is reported stalled (None: never). `progress_steps`: percentages announced
    when progress crosses them.
    """

    finish_confirm_polls: int = 2
    stall_after: timedelta | None = timedelta(seconds=1800)
    progress_steps: tuple[int, ...] = (50,)

    def __post_init__(self) -> None:
        if self.finish_confirm_polls < 1:
            raise RulesError("finish_confirm_polls must be at least 1")
        if self.stall_after is not None and self.stall_after <= timedelta(0):
            raise RulesError("stall_after must be positive (or None for never)")
        if any(not 0 < step <= 100 for step in self.progress_steps):
            raise RulesError("progress_steps must lie in 1..100")
        # Sorted and unique, so the reducer can scan them in order.
        object.__setattr__(self, "progress_steps", tuple(sorted(set(self.progress_steps))))

    def step_reached(self, progress: int | None) -> int:
        """The highest configured step at or below `progress` (0 when none)."""
        reached = 0
        if progress is None:
            return reached
        for step in self.progress_steps:
            if step > progress:
                break
            reached = step
        return reached
