"""Benchmark: N jobs finish at once; the daemon's emails against raw aiosmtplib, same sink.

Measures, in one run, against one aiosmtpd sink in a process of its own:
  daemon  the notifier daemon, in this process, polling the simulator (N Running jobs, already
          seen): all N finish at once (each with a job log), and the time runs from the poll
          that first saw them gone to the sink's acceptance of the last email
  raw     aiosmtplib sending N prebuilt emails of the same kind over as many pooled
          connections as smtp.max_connections (the faster of one run before and one after):
          EmailMessage objects built beforehand with the standard `email` API from the same
          rendered text and headers, sent with `send_message`, as a script around
          aiosmtplib does; the goal is judged against this peer
  bytes   the same, but the daemon's own prebuilt bytes sent with `sendmail`: a stricter
          peer that pays for nothing but SMTP, shown beside the goal
and prints raw time / daemon time (the daemon's share of the raw rate; target >= 0.7).
`run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import aiosmtplib

from bench.harness import MAX_CONNECTIONS, SENDER, PollTimes, bench_config, running_daemon
from bench.harness import wait_until as until
from bench.sink import SinkProcess
from notifier.core.events import EventKind, Outcome
from notifier.mail.message import OutgoingEmail, build_message
from notifier.mail.preview import sample_completion, sample_event
from notifier.sim import Outcome as SimOutcome
from notifier.sim import Pacing, Simulator

LOCALES = ("en-US", "de-DE", "ja-JP", "fr-FR")  # as Simulator.populate spreads them
POLL_INTERVAL = 0.2


def prebuilt_messages(count: int) -> list[OutgoingEmail]:
    """Finished-job emails as the daemon would send them, built before the clock starts."""
    completion = sample_completion(Outcome.SUCCEEDED)
    return [
        build_message(
            sample_event(EventKind.FINISHED, LOCALES[n % len(LOCALES)]), completion, sender=SENDER
        )
        for n in range(count)
    ]


def script_message(built: OutgoingEmail) -> EmailMessage:
    """The same email as a script builds it with the standard `email` API."""
    source = built.parsed()
    message = EmailMessage(policy=SMTP)
    for name, value in source.items():
        if not name.lower().startswith(("content-", "mime-")):
            message[name] = value
    text, html = source.get_body(("plain",)), source.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    message.set_content(text.get_content())
    message.add_alternative(html.get_content(), subtype="html")
    message["Content-Language"] = source["Content-Language"]
    return message


Send = Callable[[aiosmtplib.SMTP, Any], Awaitable[object]]


async def _send_message(client: aiosmtplib.SMTP, message: EmailMessage) -> None:
    await client.send_message(message)


async def _send_bytes(client: aiosmtplib.SMTP, message: OutgoingEmail) -> None:
    await client.sendmail(message.sender, [message.recipient], message.data)


async def send_raw(port: int, messages: Sequence[Any], send: Send, connections: int) -> None:
    """Every message over `connections` aiosmtplib connections, each taking the next one."""
    pending = iter(messages)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await client.connect()
        try:
            for message in pending:
                await send(client, message)
        finally:
            await client.quit()

    async with asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(worker())


async def time_raw(sink: SinkProcess, messages: Sequence[Any], send: Send) -> float:
    before = sink.count
    started = time.monotonic()
    await send_raw(sink.port, messages, send, MAX_CONNECTIONS)
    await sink.wait_for(before + len(messages), within=120)
    return sink.last_at - started


async def time_daemon(sink: SinkProcess, jobs: int, directory: Path) -> dict[str, float]:
    sim = Simulator(pacing=Pacing(jobs=0))
    polls = PollTimes(sim)
    sim.populate(jobs, companies=20)
    await sim.start()
    try:
        config = bench_config(sim.url, sink.port, directory / "burst.sqlite3", interval=0.2)
        async with running_daemon(config) as parts:
            await until(lambda: len(parts.poller.state.jobs) == jobs, 60, "the first poll")
            before = sink.count
            finished_at = time.monotonic()
            for key in list(sim.state.jobs):
                sim.finish_job(*key, SimOutcome.SUCCEEDED)
            await sink.wait_for(before + jobs, within=300)
            seen_at = polls.first_after(finished_at)
            assert seen_at is not None
            return {
                "daemon_s": sink.last_at - seen_at,
                "daemon_from_finish_s": sink.last_at - finished_at,
            }
    finally:
        await sim.stop()


async def measure(jobs: int) -> dict[str, Any]:
    wire = prebuilt_messages(jobs)
    scripted = [script_message(message) for message in wire]
    with SinkProcess() as sink, tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp:
        raw_before = await time_raw(sink, scripted, _send_message)
        bytes_before = await time_raw(sink, wire, _send_bytes)
        daemon = await time_daemon(sink, jobs, Path(tmp))
        raw_after = await time_raw(sink, scripted, _send_message)
        bytes_after = await time_raw(sink, wire, _send_bytes)
    raw_s, bytes_s = min(raw_before, raw_after), min(bytes_before, bytes_after)
    return {
        "jobs": jobs,
        "connections": MAX_CONNECTIONS,
        "raw_s": raw_s,
        "raw_per_s": jobs / raw_s,
        "bytes_s": bytes_s,
        "bytes_per_s": jobs / bytes_s,
        **daemon,
        "daemon_per_s": jobs / daemon["daemon_s"],
        "daemon_over_raw_rate": raw_s / daemon["daemon_s"],
        "daemon_over_bytes_rate": bytes_s / daemon["daemon_s"],
        "target_daemon_over_raw_rate": 0.7,
    }


def run(jobs: int = 2_000) -> dict[str, Any]:
    return asyncio.run(measure(jobs))


def main() -> int:
    r = run()
    print(f"burst: {r['jobs']:,} jobs finish at once; {r['connections']} SMTP connections")
    print(f"  raw aiosmtplib, prebuilt   {r['raw_s']:7.2f} s  {r['raw_per_s']:7.0f} emails/s")
    print(f"  raw, prebuilt bytes        {r['bytes_s']:7.2f} s  {r['bytes_per_s']:7.0f} emails/s")
    print(f"  daemon, from its poll      {r['daemon_s']:7.2f} s  {r['daemon_per_s']:7.0f} emails/s")
    print(f"  daemon, from the finish    {r['daemon_from_finish_s']:7.2f} s")
    print(f"  daemon rate / raw rate = {r['daemon_over_raw_rate']:.2f}   (target >= 0.7)")
    print(f"  daemon rate / bytes rate = {r['daemon_over_bytes_rate']:.2f}")
    return 0 if r["daemon_over_raw_rate"] >= 0.7 else 1


if __name__ == "__main__":
    sys.exit(main())
