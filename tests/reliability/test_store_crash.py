"""A notifier killed with SIGKILL in the middle of a commit loses nothing and half-writes nothing.

A child process polls a deterministic, busy history of 300 jobs and commits each round;
it is killed at a random moment, several times over the same file. After each kill the
store must open cleanly, pass SQLite's integrity check, hold at least every commit the child
acknowledged, and hold exactly the state and outbox that replaying the history up to its
last commit produces: no state without its events, no events without their state.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event, EventKind
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import ChannelKind, Recipient, Route, RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.store.protocol import DeliveryStatus
from notifier.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = DiffRules(finish_confirm_polls=2, stall_after=timedelta(minutes=5))
JOBS = 300
TRIALS = 5
STATES = (JobState.NEW, JobState.RUNNING, JobState.RUNNING, JobState.STOPPING, JobState.DONE)
ROOT = Path(__file__).resolve().parents[2]


def snapshot_at(poll: int) -> Snapshot:
    """Round `poll` of the history: jobs come, progress, stop, finish and come back."""
    jobs = []
    for k in range(JOBS):
        if (k + poll) % 11 in (0, 1):
            continue  # absent for two rounds: finished, and back as a new run later
        jobs.append(
            ActiveJob(
                "47", f"47|job-{k}|", f"job-{k}", None, JobType.URL_UPLOAD,
                STATES[(k * 7 + poll // 3) % len(STATES)], f"user{k}@example.com", "de-DE",
                "Überprüfung", None, T0, None, None, (poll * k) % 101, None,
                T0 + timedelta(minutes=(poll * k) % 13),
            )
        )  # fmt: skip
    return Snapshot({"47": jobs})


def poll_time(poll: int) -> datetime:
    return T0 + timedelta(minutes=poll)


EVERY_KIND = frozenset(EventKind)
ROUTING = RoutingRules(
    events=EVERY_KIND,
    routes=(Route(to=(Recipient(ChannelKind.WEBHOOK, "ops", "en"),), events=EVERY_KIND),),
)
"""Each event: the submitter's email and a route's webhook, in the same transaction."""


def poll_number(state: TrackedState) -> int:
    """The last round committed in `state` (0 before any)."""
    at = state.scopes.get("47")
    return 0 if at is None else (at - T0) // timedelta(minutes=1)


async def commit_forever(path: str) -> None:
    """The child: continues the history from what the store holds, acknowledging commits."""
    store = await SqliteStore.open(path)
    state = await store.load_state()
    poll = poll_number(state)
    while True:
        poll += 1
        state, events = diff(state, snapshot_at(poll), poll_time(poll), RULES)
        await store.commit(state, events, plan_all(events, ROUTING), poll_time(poll))
        print(poll, flush=True)


def replay(through: int) -> tuple[TrackedState, list[Event]]:
    state, emitted = TrackedState(), []
    for poll in range(1, through + 1):
        state, events = diff(state, snapshot_at(poll), poll_time(poll), RULES)
        emitted.extend(events)
    return state, emitted


def kill_while_committing(path: Path, rng: random.Random) -> int:
    """Runs the child until a random moment after a random number of commits; SIGKILL."""
    code = (
        f"import asyncio, sys; from {__name__} import commit_forever;"
        " asyncio.run(commit_forever(sys.argv[1]))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged = 0
    try:
        assert child.stdout is not None
        for _ in range(rng.randint(1, 6)):
            line = child.stdout.readline()
            assert line, f"the child died on its own: {child.stderr.read() if child.stderr else ''}"
            acknowledged = int(line)
        # A random point inside one of the next commits (each takes a few milliseconds).
        time.sleep(rng.uniform(0, 0.03))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    return acknowledged


async def stored(path: Path) -> tuple[TrackedState, list[Event], list[Event]]:
    """The state, and the events of the outbox's email and webhook deliveries."""
    store = await SqliteStore.open(path)
    try:
        deliveries = await store.list_deliveries(list(DeliveryStatus), limit=1_000_000)
        by = {c: [d.event for d in deliveries if d.channel is c] for c in ChannelKind}
        return await store.load_state(), by[ChannelKind.EMAIL], by[ChannelKind.WEBHOOK]
    finally:
        await store.close()


def test_sigkill_during_commits_leaves_state_and_outbox_in_agreement(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    for trial in range(TRIALS):
        acknowledged = kill_while_committing(path, rng)
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        state, outbox, posted = asyncio.run(stored(path))
        committed = poll_number(state)
        assert committed >= acknowledged, f"trial {trial}: an acknowledged commit was lost"
        expected_state, expected_events = replay(committed)
        assert state == expected_state, f"trial {trial}: state differs after round {committed}"
        assert outbox == expected_events, f"trial {trial}: outbox differs after round {committed}"
        assert posted == expected_events, f"trial {trial}: webhooks differ after {committed}"
