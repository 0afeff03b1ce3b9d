"""Benchmark: N jobs of ONE recipient finish at once, digests on; the time to the digest.

The daemon, in this process, polls the simulator (N Running jobs of one submitter, already
seen; only `finished` notified; `[digest] after = 5, window = W`). All N finish at once. The
first `after` emails go at once, the rest are held in the store and go as one digest when
the window ends. Measures, from the poll that first saw the jobs gone: the time to the
digest's acceptance by the SMTP sink, how much of it is the window itself (the rest is the
daemon's work: outcomes, routing, holding N deliveries, building and sending a digest of N
jobs), the emails the recipient got, and the jobs the digest listed (all N).
`run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import PollTimes, bench_config, running_daemon
from bench.harness import wait_until as until
from bench.sink import SinkProcess
from notifier.config.model import Config, DigestConfig
from notifier.core.events import EventKind
from notifier.sim import Outcome as SimOutcome
from notifier.sim import Pacing, Simulator

AFTER = 5
WINDOW_S = 5.0
RECIPIENT = "integration@example.com"


def digest_config(config: Config) -> Config:
    notify = dataclasses.replace(config.notify, events=(EventKind.FINISHED,))
    return dataclasses.replace(
        config, notify=notify, digest=DigestConfig(after=AFTER, window=WINDOW_S)
    )


async def measure(jobs: int) -> dict[str, Any]:
    sim = Simulator(pacing=Pacing(jobs=0))
    polls = PollTimes(sim)
    for n in range(jobs):
        sim.add_job(
            company_handle="47",
            name=f"Bulk upload {n}",
            state="Running",
            submit_user_email=RECIPIENT,
            locale="en-US",
        )
    await sim.start()
    try:
        with (
            SinkProcess(record=True) as sink,
            tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp,
        ):
            config = bench_config(sim.url, sink.port, Path(tmp) / "digest.sqlite3", interval=0.2)
            async with running_daemon(digest_config(config)) as parts:
                await until(lambda: len(parts.poller.state.jobs) == jobs, 60, "the first poll")
                finished_at = time.monotonic()
                for key in list(sim.state.jobs):
                    sim.finish_job(*key, SimOutcome.SUCCEEDED)
                accepted: list[Any] = []

                def digest_arrived() -> bool:
                    accepted.extend(sink.accepted())
                    return any(a.event == "digest" for a in accepted)

                await until(digest_arrived, 300, "the digest")
                seen_at = polls.first_after(finished_at)
                assert seen_at is not None
    finally:
        await sim.stop()
    (digest,) = [a for a in accepted if a.event == "digest"]
    singles = [a for a in accepted if a.event != "digest"]
    first_single = min(a.at for a in singles)
    return {
        "jobs": jobs,
        "after": AFTER,
        "window_s": WINDOW_S,
        "emails": len(accepted),
        "digest_listed": digest.listed,
        "first_email_s": first_single - seen_at,
        "to_digest_s": digest.at - seen_at,
        "beyond_window_s": digest.at - seen_at - WINDOW_S,
    }


def run(jobs: int = 2_000) -> dict[str, Any]:
    return asyncio.run(measure(jobs))


def main() -> int:
    r = run()
    print(
        f"digest: {r['jobs']:,} jobs of one recipient; after = {r['after']}, window = "
        f"{r['window_s']:g} s"
    )
    print(f"  emails {r['emails']} (the digest lists {r['digest_listed']:,} jobs)")
    print(f"  first email {r['first_email_s']:.2f} s, digest {r['to_digest_s']:.2f} s "
          f"({r['beyond_window_s']:.2f} s beyond the window)")  # fmt: skip
    return 0 if r["emails"] <= r["after"] + 2 and r["digest_listed"] == r["jobs"] else 1


if __name__ == "__main__":
    sys.exit(main())
