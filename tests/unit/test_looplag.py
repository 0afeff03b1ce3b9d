"""The event-loop lag probe sees a loop that was blocked, and little on a free one."""

from __future__ import annotations

import asyncio
import time

from notifier.looplag import watch_loop_lag


async def test_a_blocked_loop_shows_as_lag_and_the_probe_stops_on_request() -> None:
    stop = asyncio.Event()
    seen: list[float] = []
    observed = asyncio.Event()

    def observe(seconds: float) -> None:
        seen.append(seconds)
        observed.set()

    probe = asyncio.create_task(watch_loop_lag(stop, observe, interval=0.05))
    await asyncio.wait_for(observed.wait(), timeout=5)
    assert seen[0] < 0.2, f"a free loop lagged {seen[0]:.3f} s"

    observed.clear()
    time.sleep(0.3)  # noqa: ASYNC251 - blocks the loop, as a blocking call in the daemon would
    await asyncio.wait_for(observed.wait(), timeout=5)
    assert seen[-1] >= 0.2, f"a 0.3 s block showed as {seen[-1]:.3f} s"

    stop.set()
    await asyncio.wait_for(probe, timeout=1.0)
