"""A stopped job and a job that comes back: what their submitters are told, and how it threads."""

from __future__ import annotations

from collections import defaultdict

from notifier.sim import Outcome
from tests.e2e.conftest import COMPANY, Notifier, World


async def test_a_stopped_job_and_a_recurring_job_each_get_their_own_story(
    world: World, notifier: Notifier
) -> None:
    config = world.config(notify={"events": ["started", "stopping", "finished"]})
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    stopped = world.add_job("Stopped midway", email="stella@example.com").job_handle
    nightly = world.add_job("Nightly export", email="nina@example.com").job_handle
    await world.wait_for_mails(2)
    world.sim.update_job(COMPANY, stopped, state="Stopping")
    await world.wait_for_mails(3)
    world.sim.finish_job(COMPANY, stopped, Outcome.STOPPED)
    world.sim.finish_job(COMPANY, nightly, Outcome.SUCCEEDED)
    await world.wait_for_mails(5)
    again = world.add_job("Nightly export", email="nina@example.com").job_handle
    assert again == nightly, "the simulator reuses the handle, as IPS does for scheduled jobs"
    await world.wait_for_mails(6)
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    mails = world.mails()
    assert len(mails) == 6
    story: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    threads: dict[str, list[str]] = defaultdict(list)
    for mail in mails:
        handle = str(mail["X-IPS-Job-Handle"])
        story[handle].append((str(mail["X-IPS-Job-Event"]), mail["X-IPS-Job-Outcome"]))
        threads[handle].append(str(mail["References"]))
    assert story[stopped] == [("started", None), ("stopping", None), ("finished", "stopped")]
    assert story[nightly] == [("started", None), ("finished", "succeeded"), ("started", None)]
    first_run, second_run = threads[nightly][:2], threads[nightly][2]
    assert first_run[0] == first_run[1], "one run's emails thread together"
    assert second_run != first_run[0], "the next run is a new thread"
    assert len(set(threads[stopped])) == 1
