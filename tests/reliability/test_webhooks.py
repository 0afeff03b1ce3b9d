"""The kill and outage trials over every channel: a webhook route beside the submitters' emails.

SIGKILL during a burst that goes to the submitters by email and to a `json` webhook (slowed,
so that POSTs are in flight): every job reaches both (lost = 0), a job's POSTs all carry
one X-Notifier-Event-Id, and repeats stay within the webhook's requests on the wire per
kill. The webhook's receiver down for several retry rounds (its port refusing, as a crashed
server does), then back: the emails never waited for it, and then every POST arrives,
repeats bounded and carrying the same X-Notifier-Event-Id.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from notifier.webhook.channel import DEFAULT_CONCURRENCY
from tests.reliability.conftest import (
    COMPANY,
    DaemonProcess,
    Rig,
    TcpGate,
    metric,
    owed,
    record_figure,
    wait_until,
)
from tests.webhook_receiver import WebhookReceiver

BURST = 12
DELAY = 0.08
ROUTE = {"events": ["finished"], "to": ["webhook:ops"]}


@dataclass(frozen=True, slots=True)
class Posts:
    """The webhook's `finished` POSTs, by job handle: how many, and their event ids."""

    count: dict[str, int]
    ids: dict[str, set[str]]

    @property
    def repeats(self) -> int:
        return sum(n - 1 for n in self.count.values())


def posts(receiver: WebhookReceiver) -> Posts:
    count: dict[str, int] = defaultdict(int)
    ids: dict[str, set[str]] = defaultdict(set)
    for received in receiver.received:
        body = json.loads(received.body)
        if body["event"] != "finished":
            continue
        handle = body["job"]["job_handle"]
        assert received.headers["X-Notifier-Event-Id"] == body["id"]
        count[handle] += 1
        ids[handle].add(body["id"])
    return Posts(dict(count), dict(ids))


def mailed(rig: Rig) -> set[str]:
    return {
        str(m.message["X-IPS-Job-Handle"])
        for m in rig.sink.messages
        if m.message["X-IPS-Job-Event"] == "finished"
    }


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    running = WebhookReceiver()
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def sections(rig: Rig, url: str) -> dict[str, Any]:
    config: dict[str, Any] = rig.config()
    config["webhook"] = [{"name": "ops", "url": url, "secret": "reliability-hook-secret"}]
    config["route"] = [ROUTE]
    return config


async def observed(daemon: DaemonProcess, jobs: int) -> None:
    async def listed() -> bool:
        return await metric(daemon, "notifier_active_jobs") == jobs

    await wait_until(listed, 30, f"the daemon to list {jobs} active jobs")


async def kill_trials(rig: Rig, receiver: WebhookReceiver, trials: int, label: str) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    daemon = await rig.started(sections(rig, f"{receiver.base_url}/hooks/ops"))
    expected: set[str] = set()
    worst = so_far = 0
    for trial in range(trials):
        handles = [rig.add_running_job(trial * 100 + n)[1] for n in range(BURST)]
        expected |= set(handles)
        await observed(daemon, BURST)
        before = len(receiver.received)
        receiver.delay = DELAY
        for handle in handles:
            rig.sim.finish_job(COMPANY, handle, "succeeded")
        target = before + rng.randrange(BURST)
        await wait_until(lambda t=target: len(receiver.received) >= t, 30, "POSTs")
        await asyncio.sleep(rng.uniform(0, DELAY * 1.5))  # a random moment of the next POST
        await daemon.kill()
        receiver.delay = 0
        await daemon.start()

        def complete(wanted: frozenset[str] = frozenset(expected)) -> bool:
            # Nothing owed any more, so the repeats of this kill have all arrived: a POST in
            # flight at the kill was received already, and is sent again after the others.
            done = set(posts(receiver).count) >= wanted and mailed(rig) >= wanted
            return done and owed(rig) == 0

        await wait_until(complete, 60, f"trial {trial}: every job posted and mailed")
        repeats = posts(receiver).repeats
        worst = max(worst, repeats - so_far)
        so_far = repeats
    assert await daemon.terminate() == 0
    found = posts(receiver)
    record_figure(
        f"{label}: {trials} SIGKILLs during bursts of {BURST} completions, each mailed and "
        f"posted to a webhook: {len(expected)} completions, lost {len(expected - set(found.count))}"
        f" POSTs and {len(expected - mailed(rig))} emails, {found.repeats} repeated POSTs, at "
        f"most {worst} for one kill (bound: {DEFAULT_CONCURRENCY} on the wire)"
    )
    assert set(found.count) == expected, "no job lost on the webhook"
    assert mailed(rig) == expected, "no job lost by email"
    assert all(len(ids) == 1 for ids in found.ids.values()), "a repeat carries the same id"
    assert worst <= DEFAULT_CONCURRENCY


async def test_sigkill_during_webhook_and_email_deliveries_loses_nothing(
    rig: Rig, receiver: WebhookReceiver
) -> None:
    await kill_trials(rig, receiver, 3, "crash over a webhook (quick)")


@pytest.mark.soak
async def test_sigkill_during_webhook_and_email_deliveries_25_trials(
    rig: Rig, receiver: WebhookReceiver
) -> None:
    await kill_trials(rig, receiver, 25, "crash over a webhook (soak)")


async def webhook_outage(rig: Rig, receiver: WebhookReceiver, retries: int, label: str) -> None:
    port = int(receiver.base_url.rsplit(":", 1)[1])
    gate = TcpGate(port)
    await gate.open()
    daemon = await rig.started(sections(rig, f"http://127.0.0.1:{gate.port}/hooks/ops"))
    handles = [rig.add_running_job(n)[1] for n in range(BURST)]
    await observed(daemon, BURST)
    await gate.close()  # the receiver's host goes down: connections refused
    for handle in handles:
        rig.sim.finish_job(COMPANY, handle, "succeeded")
    await wait_until(lambda: mailed(rig) == set(handles), 30, "the emails, during the outage")

    # Counted from the metrics: the log says an outage once, not once per attempt.
    async def retried_rounds() -> bool:
        sample = 'notifier_deliveries_total{channel="webhook",result="retry"}'
        return (await metric(daemon, sample) or 0) >= retries

    await wait_until(retried_rounds, 60, f"{retries} failed attempts at the webhook")
    assert posts(receiver).count == {}, "nothing reached the receiver while it was down"
    await gate.open()
    await wait_until(
        lambda: set(posts(receiver).count) == set(handles), 60, "every POST after the outage"
    )
    assert await daemon.terminate() == 0
    found = posts(receiver)
    record_figure(
        f"{label}: a webhook down for {retries} failed attempts, then back: {BURST} completions,"
        f" {sum(found.count.values())} POSTs, lost {BURST - len(found.count)}, repeats "
        f"{found.repeats}; the {BURST} emails went during the outage"
    )
    assert set(found.count) == set(handles)
    assert all(len(ids) == 1 for ids in found.ids.values()), "a repeat carries the same id"
    assert found.repeats <= DEFAULT_CONCURRENCY
    assert "reliability-hook-secret" not in daemon.log()
    assert "/hooks/ops" not in daemon.log(), "the URL's path is never logged"


async def test_a_webhook_outage_delays_only_the_webhook_and_loses_nothing(
    rig: Rig, receiver: WebhookReceiver
) -> None:
    await webhook_outage(rig, receiver, 3, "webhook outage (quick)")


@pytest.mark.soak
async def test_a_long_webhook_outage_loses_nothing(rig: Rig, receiver: WebhookReceiver) -> None:
    await webhook_outage(rig, receiver, 15, "webhook outage (soak)")
