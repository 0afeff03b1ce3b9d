"""The event-loop lag probe: how late the loop runs what is due, measured inside the daemon.

A task sleeps a fixed interval, again and again, and reports by how much each wake-up
overshot it (`notifier_event_loop_lag_seconds`). Anything that blocks the loop (a slow
callback, CPU starvation, a blocking call that slipped in) shows up as lag, long before the
watchdog fires. Never blocks and never sleeps for long: it stops within one interval of
`stop`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

INTERVAL = 0.25
"""Seconds between wake-ups: often enough to see short stalls, cheap enough to forget."""


async def watch_loop_lag(
    stop: asyncio.Event, observe: Callable[[float], None], *, interval: float = INTERVAL
) -> None:
    """Until `stop` is set, sleep `interval` and call `observe(overshoot in seconds)`."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        asked_at = loop.time()
        await asyncio.sleep(interval)
        observe(max(0.0, loop.time() - asked_at - interval))
