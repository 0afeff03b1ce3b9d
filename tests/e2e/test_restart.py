"""Stopping and starting the daemon: nothing lost, nothing repeated, changes made meanwhile told."""

from __future__ import annotations

from collections import Counter, defaultdict

from notifier.sim import Outcome
from tests.e2e.conftest import COMPANY, Notifier, World

BURST = 30


async def test_sigterm_during_a_burst_exits_cleanly_and_the_restart_sends_the_rest(
    world: World, notifier: Notifier
) -> None:
    config = world.config(notify={"events": ["finished"]}, smtp={"max_connections": 4})
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    handles = [
        world.add_job(f"Burst job {n}", email=f"user{n}@example.com").job_handle
        for n in range(BURST)
    ]
    await world.polls_pass(2)  # all of them are tracked
    world.sink.set_delay(0.3)
    for handle in handles:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
    await world.wait_for_mails(2)

    assert await daemon.stop() == 0
    before_restart = len(world.sink.messages)
    assert before_restart < BURST, "the stop came after the burst: the test proves nothing"
    assert "received SIGTERM" in daemon.log

    world.sink.set_delay(0)
    again = await notifier.start(config)
    await world.wait_for_mails(BURST)
    await world.polls_pass(5)
    assert await again.stop() == 0

    received = world.mails()
    ids_by_job: dict[str, set[str]] = defaultdict(set)
    for mail in received:
        ids_by_job[str(mail["X-IPS-Job-Handle"])].add(str(mail["Message-ID"]))
    assert set(ids_by_job) == set(handles), "every finished job was emailed"
    assert all(len(ids) == 1 for ids in ids_by_job.values()), "a repeat has its twin's Message-ID"
    assert {m["X-IPS-Job-Outcome"] for m in received} == {"succeeded"}


async def test_a_restart_repeats_nothing_and_tells_what_changed_while_it_was_down(
    world: World, notifier: Notifier
) -> None:
    config = world.config()
    first = await notifier.start(config)
    await first.wait_for_log("notifier running")
    await world.polls_pass(2)
    growing = world.add_job("Growing", email="grace@example.com", progress=10).job_handle
    ending = world.add_job("Ending", email="ed@example.com").job_handle
    waiting = world.add_job("Waiting", email="wanda@example.com", state="New").job_handle
    await world.wait_for_mails(3)
    await world.polls_pass(2)
    assert await first.stop() == 0
    assert len(world.sink.messages) == 3

    world.sim.update_job(COMPANY, growing, progress=60)
    world.sim.finish_job(COMPANY, ending, Outcome.SUCCEEDED)
    world.sim.update_job(COMPANY, waiting, state="Running")
    newcomer = world.add_job("Newcomer", email="nell@example.com").job_handle

    second = await notifier.start(config)
    await world.wait_for_mails(7)
    await world.polls_pass(5)
    assert await second.stop() == 0

    told = Counter((str(m["X-IPS-Job-Handle"]), str(m["X-IPS-Job-Event"])) for m in world.mails())
    assert told == Counter(
        {
            (growing, "started"): 1,
            (ending, "started"): 1,
            (waiting, "queued"): 1,
            (growing, "progress"): 1,
            (ending, "finished"): 1,
            (waiting, "started"): 1,
            (newcomer, "started"): 1,
        }
    )
