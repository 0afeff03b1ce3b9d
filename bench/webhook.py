"""Benchmark: N jobs finish at once, routed to a `json` webhook; the daemon's POSTs against
raw aiohttp posting the same bodies, to the same receiver.

Measures, in one run, against one aiohttp.web receiver in a process of its own:
  daemon  the notifier daemon, in this process, polling the simulator (N Running jobs, already
          seen; submitter emails off, one route sending every finished job to the webhook,
          signed): all N finish at once, and the time runs from the poll that first saw them
          gone to the receiver's answer to the last POST
  raw     aiohttp posting N prebuilt bodies of the same kind, with their headers (signature
          included) computed beforehand, over as many pooled connections as the daemon's
          webhook sender uses (the faster of one run before and one after)
and prints daemon rate / raw rate, overall and from the daemon's first POST to its last
(the overall time includes the fixed part: confirming the finish and fetching the job logs
for the outcomes before any POST can go). `run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import PollTimes, bench_config, running_daemon
from bench.harness import wait_until as until
from bench.receiver import ReceiverProcess
from bench.sink import SinkProcess
from notifier.config.model import Config, NotifyConfig, RouteConfig, Secret, WebhookConfig
from notifier.core.events import EventKind, Outcome
from notifier.mail.preview import sample_completion, sample_event
from notifier.sim import Outcome as SimOutcome
from notifier.sim import Pacing, Simulator
from notifier.webhook.channel import DEFAULT_CONCURRENCY as CONNECTIONS
from notifier.webhook.payload import encode, event_payload
from notifier.webhook.signing import request_headers

SECRET = "bench-webhook-secret"
LOCALES = ("en-US", "de-DE", "ja-JP", "fr-FR")


def prebuilt_posts(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Finished-job bodies and headers as the daemon would post them, built beforehand."""
    completion = sample_completion(Outcome.SUCCEEDED)
    posts = []
    for n in range(count):
        event = sample_event(EventKind.FINISHED, LOCALES[n % len(LOCALES)])
        event = dataclasses.replace(event, id=f"{event.id}-{n}")
        body = encode(event_payload(event, completion))
        posts.append((body, request_headers(event.id, body, SECRET)))
    return posts


async def time_raw(hook: ReceiverProcess, posts: list[tuple[bytes, dict[str, str]]]) -> float:
    pending = iter(posts)
    before = hook.count
    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def worker() -> None:
            for body, headers in pending:
                async with session.post(hook.url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 204

        async with asyncio.TaskGroup() as group:
            for _ in range(CONNECTIONS):
                group.create_task(worker())
    await hook.wait_for(before + len(posts), within=120)
    return hook.last_at - started


def webhook_config(config: Config, url: str) -> Config:
    notify = dataclasses.replace(config.notify, events=(EventKind.FINISHED,), submitter=False)
    assert isinstance(notify, NotifyConfig)
    return dataclasses.replace(
        config,
        notify=notify,
        routes=(RouteConfig(to=("webhook:bench",), locale="", events=(EventKind.FINISHED,)),),
        webhooks=(WebhookConfig("bench", Secret(url), secret=Secret(SECRET)),),
    )


async def time_daemon(
    hook: ReceiverProcess, sink_port: int, jobs: int, tmp: Path
) -> dict[str, float]:
    sim = Simulator(pacing=Pacing(jobs=0))
    polls = PollTimes(sim)
    sim.populate(jobs, companies=20)
    await sim.start()
    try:
        config = bench_config(sim.url, sink_port, tmp / "webhook.sqlite3", interval=0.2)
        async with running_daemon(webhook_config(config, hook.url)) as parts:
            await until(lambda: len(parts.poller.state.jobs) == jobs, 60, "the first poll")
            before = hook.count
            hook.restart_first()
            finished_at = time.monotonic()
            for key in list(sim.state.jobs):
                sim.finish_job(*key, SimOutcome.SUCCEEDED)
            await hook.wait_for(before + jobs, within=300)
            seen_at = polls.first_after(finished_at)
            assert seen_at is not None
            return {
                "daemon_s": hook.last_at - seen_at,
                "daemon_first_post_s": hook.first_at - seen_at,
                "daemon_posting_s": hook.last_at - hook.first_at,
            }
    finally:
        await sim.stop()


async def measure(jobs: int) -> dict[str, Any]:
    posts = prebuilt_posts(jobs)
    with (
        ReceiverProcess() as hook,
        SinkProcess() as sink,
        tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp,
    ):
        raw_before = await time_raw(hook, posts)
        daemon = await time_daemon(hook, sink.port, jobs, Path(tmp))
        raw_after = await time_raw(hook, posts)
        assert sink.count == 0, "submitter emails were off: only the webhook hears"
    raw_s = min(raw_before, raw_after)
    return {
        "jobs": jobs,
        "connections": CONNECTIONS,
        "raw_s": raw_s,
        "raw_per_s": jobs / raw_s,
        **daemon,
        "daemon_per_s": jobs / daemon["daemon_s"],
        "daemon_over_raw_rate": raw_s / daemon["daemon_s"],
        "posting_per_s": (jobs - 1) / daemon["daemon_posting_s"],
        "posting_over_raw_rate": raw_s / daemon["daemon_posting_s"],
    }


def run(jobs: int = 2_000) -> dict[str, Any]:
    return asyncio.run(measure(jobs))


def main() -> int:
    r = run()
    print(f"webhook: {r['jobs']:,} jobs finish at once; {r['connections']} HTTP connections")
    print(f"  raw aiohttp, prebuilt      {r['raw_s']:7.2f} s  {r['raw_per_s']:7.0f} POSTs/s")
    print(f"  daemon, from its poll      {r['daemon_s']:7.2f} s  {r['daemon_per_s']:7.0f} POSTs/s")
    print(f"  daemon, first to last POST {r['daemon_posting_s']:7.2f} s  "
          f"{r['posting_per_s']:7.0f} POSTs/s (first POST {r['daemon_first_post_s']:.2f} s "
          "after the poll)")  # fmt: skip
    print(f"  daemon rate / raw rate = {r['daemon_over_raw_rate']:.2f}; while posting "
          f"{r['posting_over_raw_rate']:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
