"""What the monitoring kit relies on, from the real daemon's /metrics: which build runs, and
the event-loop lag measured inside it."""

from __future__ import annotations

import platform

import aiohttp

from notifier import __version__
from tests.e2e.conftest import Notifier, World, wait_for


def _sample(text: str, name_and_labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name_and_labels + " "):
            return float(line.split()[-1])
    return None


async def test_metrics_carry_build_info_and_the_event_loop_lag(
    world: World, notifier: Notifier
) -> None:
    daemon = await notifier.start(world.config())
    base = await daemon.http_base()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:

        async def metrics() -> str:
            async with session.get(base + "/metrics") as response:
                return await response.text()

        async def lag_observed() -> bool:
            count = _sample(await metrics(), "notifier_event_loop_lag_seconds_count")
            return count is not None and count >= 4

        await wait_for(lag_observed, "four event-loop lag observations")
        text = await metrics()
    build = f'notifier_build_info{{python="{platform.python_version()}",version="{__version__}"}}'
    assert _sample(text, build) == 1.0, text
    # A daemon that polls every 0.2 s and does little else wakes its sleepers on time.
    assert _sample(text, 'notifier_event_loop_lag_seconds_bucket{le="1.0"}') == _sample(
        text, "notifier_event_loop_lag_seconds_count"
    )
    assert await daemon.stop() == 0
