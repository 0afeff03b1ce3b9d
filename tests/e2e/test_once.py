"""`notifier once` speaks as the one-shot command it is: a refused login or a failed poll
ends the round with exit status 1, and nothing promises a next poll."""

from __future__ import annotations

from notifier.sim import Fault, FaultKind
from tests.e2e.conftest import Notifier, World


async def test_once_with_refused_credentials_says_so_and_promises_no_next_poll(
    world: World, notifier: Notifier
) -> None:
    world.sim.inject(Fault(FaultKind.BAD_CREDENTIALS), None)

    result = await notifier.run("once", "-c", str(world.config()))

    assert result.returncode == 1, result.output
    assert "IPS refuses the poll for company 47" in result.stderr
    assert "no company could be polled, so nothing was recorded" in result.stderr
    assert "polling again" not in result.output
    assert "next try" not in result.output


async def test_run_still_says_when_it_polls_again(world: World, notifier: Notifier) -> None:
    world.sim.inject(Fault(FaultKind.BAD_CREDENTIALS), None)
    daemon = await notifier.start(world.config())
    line = await daemon.wait_for_log("IPS refuses the poll")
    assert "polling again in" in line
    assert await daemon.stop() == 0
