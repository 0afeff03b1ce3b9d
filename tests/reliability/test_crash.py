"""SIGKILL during a burst of completions loses no email and repeats at most the in-flight ones.

The mail server is slowed down so that several sends are in flight; the daemon is killed at a
random point of the burst (after a random number of the burst's emails arrived, plus a random
fraction of a send) and started again on the same store. Every finished job must be mailed
(lost = 0); an email may arrive twice only when it was in flight at the kill, so duplicates
stay within smtp.max_connections per kill, and a duplicate carries its twin's Message-ID.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from tests.reliability.conftest import (
    COMPANY,
    DaemonProcess,
    Rig,
    metric,
    owed,
    record_figure,
    wait_until,
)
from tests.smtp_sink import ReceivedMessage

MAX_CONNECTIONS = 4
TEAM = "dam-team@example.com"
TEAM_ROUTE = {"events": ["finished"], "to": [TEAM], "locale": "de"}
BURST = 12
SEND_DELAY = 0.08


@dataclass(frozen=True, slots=True)
class Tally:
    emails: int
    distinct: int
    lost: int
    duplicates: int


def tally(messages: list[ReceivedMessage], expected: set[str]) -> Tally:
    """Counts by X-IPS-Job-Handle (and recipient, when a route adds one: "handle -> team")
    of the `finished` emails; checks one Message-ID per job and recipient."""
    by_job: dict[str, set[str]] = {}
    counts: Counter[str] = Counter()
    for received in messages:
        message = received.message
        if message["X-IPS-Job-Event"] != "finished":
            continue
        handle = str(message["X-IPS-Job-Handle"])
        if received.rcpt_tos == (TEAM,):
            handle = f"{handle} -> team"
        by_job.setdefault(handle, set()).add(str(message["Message-ID"]))
        counts[handle] += 1
    twins = {h: ids for h, ids in by_job.items() if len(ids) != 1}
    assert not twins, f"emails about one completion carry different Message-IDs: {twins}"
    assert set(counts) <= expected, (
        f"emails about jobs that never finished: {set(counts) - expected}"
    )
    return Tally(
        emails=sum(counts.values()),
        distinct=len(counts),
        lost=len(expected - set(counts)),
        duplicates=sum(n - 1 for n in counts.values()),
    )


async def wait_for_observed(daemon: DaemonProcess, jobs: int) -> None:
    async def seen() -> bool:
        return await metric(daemon, "notifier_active_jobs") == jobs

    await wait_until(seen, 30, f"the daemon to list {jobs} active jobs")


async def crash_trial(
    rig: Rig, daemon: DaemonProcess, trial: int, rng: random.Random, routed: bool
) -> tuple[set[str], int]:
    """One burst of completions and one SIGKILL in it; the daemon is running again after.
    The completions owed: each job's handle, and "handle -> team" when a route adds one."""
    handles = [rig.add_running_job(trial * 100 + n)[1] for n in range(BURST)]
    owed = set(handles) | ({f"{h} -> team" for h in handles} if routed else set())
    await wait_for_observed(daemon, BURST)
    before = len(rig.sink.messages)
    rig.sink.set_delay(SEND_DELAY)
    for handle in handles:
        rig.sim.finish_job(COMPANY, handle, "succeeded")
    arrived = rng.randrange(len(owed))
    await rig.sink.wait_for_messages(before + arrived, within=30)
    # The kill moment itself is random: part-way through the next send.
    await asyncio.sleep(rng.uniform(0, SEND_DELAY * 1.5))
    await daemon.kill()
    delivered_at_kill = len(rig.sink.messages) - before
    rig.sink.set_delay(0)
    await daemon.start()
    return owed, delivered_at_kill


async def run_trials(rig: Rig, trials: int, label: str, *, routed: bool = False) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    sections: dict[str, Any] = rig.config(
        smtp={"max_connections": MAX_CONNECTIONS}, notify={"events": ["finished"]}
    )
    if routed:
        sections["route"] = [TEAM_ROUTE]
    daemon = await rig.started(sections)
    expected: set[str] = set()
    so_far = worst = 0
    for trial in range(trials):
        handles, at_kill = await crash_trial(rig, daemon, trial, rng, routed)
        expected |= handles

        def all_mailed(wanted: frozenset[str] = frozenset(expected)) -> bool:
            # Nothing owed any more, so this kill's repeats have all arrived too: a send
            # is recorded only once the server accepted it. Counted later, a repeat would
            # be charged to the next kill.
            return tally(rig.sink.messages, set(wanted)).lost == 0 and owed(rig) == 0

        await wait_until(
            all_mailed,
            60,
            f"trial {trial}: every completion mailed after the restart",
        )
        duplicates = tally(rig.sink.messages, expected).duplicates
        worst = max(worst, duplicates - so_far)
        so_far = duplicates
        print(f"{label} trial {trial}: killed after {at_kill} of {len(handles)} emails")
    assert await daemon.terminate() == 0
    figures = tally(rig.sink.messages, expected)
    record_figure(
        f"{label}: {trials} SIGKILLs during bursts of {BURST} completions"
        f"{' (each also routed to a team)' if routed else ''}: "
        f"{len(expected)} completions, {figures.emails} emails, lost {figures.lost}, "
        f"duplicates {figures.duplicates}, at most {worst} for one kill "
        f"(bound: smtp.max_connections = {MAX_CONNECTIONS} per kill)"
    )
    assert figures.lost == 0
    assert worst <= MAX_CONNECTIONS
    assert figures.duplicates <= MAX_CONNECTIONS * trials


async def test_sigkill_during_sends_loses_nothing_and_bounds_duplicates(rig: Rig) -> None:
    await run_trials(rig, 5, "crash (quick)")


async def test_sigkill_during_sends_to_submitters_and_a_team_route_loses_nothing(
    rig: Rig,
) -> None:
    await run_trials(rig, 3, "crash over routes (quick)", routed=True)


@pytest.mark.soak
async def test_sigkill_during_sends_50_trials(rig: Rig) -> None:
    await run_trials(rig, 50, "crash (soak)")
