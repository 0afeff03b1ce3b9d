"""A store written by the release before channels and recipients opens in this one with
nothing lost: tracked jobs, pending, dead, sent and skipped deliveries, ids, reasons and
Message-IDs; the pending ones are then mailed as that release would have mailed them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier.core.codec import encode_completion, encode_event, encode_tracked_job
from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Completion, Event, EventKind, Outcome, event_id
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import ChannelKind, RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.delivery.loop import DeliveryLoop
from notifier.mail.channel import EmailChannel, EmailSettings
from notifier.mail.message import message_id
from notifier.mail.sender import Mailer
from notifier.store.protocol import DeliveryStatus
from notifier.store.rows import micros
from notifier.store.schema import MIGRATIONS
from notifier.store.sqlite import SqliteStore
from tests.smtp_sink import SmtpSink

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DOMAIN = "example.com"  # smtp.from's, the Message-IDs' domain

# The statements of the previous release's notifier/store/sqlite.py, as it wrote its rows
# on a schema of version 1 (MIGRATIONS[0], released and never edited).
OLD_INSERT = (
    "INSERT OR IGNORE INTO deliveries (event_id, kind, run_id, event, status,"
    " created_at, pending_since, next_attempt_at, updated_at)"
    " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
)
OLD_SENT = (
    "UPDATE deliveries SET status = 'sent', message_id = ?, attempts = attempts + 1,"
    " updated_at = ? WHERE id = ?"
)
OLD_RETRY = (
    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?,"
    " next_attempt_at = ?, updated_at = ? WHERE id = ?"
)
OLD_DEAD = (
    "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = ?,"
    " updated_at = ? WHERE id = ?"
)
OLD_SKIPPED = (
    "UPDATE deliveries SET status = 'skipped', last_error = ?, updated_at = ? WHERE id = ?"
)
OLD_COMPLETION = "UPDATE deliveries SET completion = ? WHERE id = ?"


def active_job(name: str, email: str | None = "ana@example.com") -> ActiveJob:
    return ActiveJob(
        "47", f"47|{name}|", name, None, JobType.IMAGE_SERVING_PUBLISH, JobState.RUNNING,
        email, "de-DE", None, None, T0 - timedelta(hours=1), None, None, 40, None, T0,
        state_raw="Running",
    )  # fmt: skip


def an_event(name: str, kind: EventKind, email: str | None = "ana@example.com") -> Event:
    job = active_job(name, email)
    return Event(event_id("47", job.job_handle, 1, kind, 0), kind, job, 1, T0)


class OldStore:
    """A store file of schema version 1, written with the previous release's statements."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")

    def add(self, event: Event, at: datetime) -> int:
        when = micros(at)
        row = (event.id, event.kind.value, event.thread_id, encode_event(event), *[when] * 4)
        return int(self.conn.execute(OLD_INSERT, row).lastrowid or 0)

    def run(self, sql: str, *args: object) -> None:
        self.conn.execute(sql, args)

    def track(self, state: TrackedState) -> None:
        for (company, handle), tracked in state.jobs.items():
            self.run(
                "INSERT INTO tracked_jobs VALUES (?, ?, ?)",
                company,
                handle,
                encode_tracked_job(tracked),
            )
        for (company, handle), run in state.last_run.items():
            self.run("INSERT INTO job_runs VALUES (?, ?, ?)", company, handle, run)
        for scope, at in state.scopes.items():
            self.run("INSERT INTO scopes VALUES (?, ?)", scope, at.isoformat())


async def no_log_yet(
    events: Sequence[Event], now: datetime, grace: timedelta
) -> dict[str, Completion]:
    """IPS has not written these jobs' logs yet."""
    return {}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


async def test_a_store_of_the_previous_release_is_carried_over_whole(
    tmp_path: Path, sink: SmtpSink
) -> None:
    path = tmp_path / "notifier.sqlite3"
    old = OldStore(path)
    state, _ = diff(TrackedState(), Snapshot({"47": [active_job("Tracked")]}), T0, DiffRules())
    old.track(state)
    started = an_event("Pending", EventKind.STARTED, "Ana.Silva@Example.com")
    waiting = an_event("Awaiting its log", EventKind.FINISHED)
    known = an_event("Outcome known", EventKind.FINISHED)
    dead = an_event("Bounced", EventKind.STARTED, "gone@example.com")
    sent = an_event("Mailed", EventKind.STARTED)
    skipped = an_event("Not notified", EventKind.QUEUED, None)
    ids = {e.id: old.add(e, T0) for e in (started, waiting, known, dead, sent, skipped)}
    completion = Completion(Outcome.FAILED, ended_at=T0, duration=timedelta(minutes=5))
    old.run(OLD_COMPLETION, encode_completion(completion), ids[known.id])
    retry_at = T0 + timedelta(minutes=3)
    old.run(OLD_RETRY, "451 busy", micros(retry_at), micros(T0), ids[started.id])
    old.run(OLD_DEAD, "550 5.1.1 no such user", micros(T0), ids[dead.id])
    old.run(OLD_SENT, "<mailed@ips-job-notifier>", micros(T0), ids[sent.id])
    old.run(
        OLD_SKIPPED, "invalid recipient address: no recipient address", micros(T0), ids[skipped.id]
    )
    old.conn.close()

    store = await SqliteStore.open(path)
    try:
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert await store.load_state() == state
        rows = {d.id: d for d in await store.list_deliveries(list(DeliveryStatus))}
        assert set(rows) == set(ids.values()), "every row kept its id"
        by_event = {d.event.id: d for d in rows.values()}
        assert {e: d.status for e, d in by_event.items()} == {
            started.id: DeliveryStatus.PENDING,
            waiting.id: DeliveryStatus.PENDING,
            known.id: DeliveryStatus.PENDING,
            dead.id: DeliveryStatus.DEAD,
            sent.id: DeliveryStatus.SENT,
            skipped.id: DeliveryStatus.SKIPPED,
        }
        assert by_event[started.id].event == started
        assert by_event[started.id].recipient.channel is ChannelKind.EMAIL
        assert by_event[started.id].recipient.address == "Ana.Silva@Example.com"
        assert (by_event[started.id].attempts, by_event[started.id].last_error) == (1, "451 busy")
        assert by_event[started.id].next_attempt_at == retry_at
        assert by_event[dead.id].last_error == "550 5.1.1 no such user"
        assert by_event[sent.id].receipt == "<mailed@ips-job-notifier>"
        assert by_event[skipped.id].recipient.address == ""
        assert by_event[known.id].completion == completion
        assert [e.id for e in await store.awaiting_completion()] == [waiting.id]
        due = await store.due_deliveries(T0 + timedelta(hours=1), limit=10)
        assert {d.event.id for d in due} == {started.id, known.id}, "finished waits for its log"

        later = an_event("After the upgrade", EventKind.STARTED)
        planned = plan_all([later], RoutingRules())
        await store.commit(state, [later], planned, T0 + timedelta(hours=1))
        (new,) = [
            d for d in await store.list_deliveries([DeliveryStatus.PENDING]) if d.event == later
        ]
        assert new.id > max(ids.values()), "new ids never reuse an old one"
        assert await store.retry(ids[dead.id], T0 + timedelta(hours=1)) is True

        mailer = Mailer(sink.host, sink.port, timeout=5.0)
        settings = EmailSettings(sender="IPS Jobs <ips-jobs@example.com>")
        loop = DeliveryLoop(store, [EmailChannel(mailer, settings)], completions=no_log_yet)
        try:
            await loop.run_once(T0 + timedelta(hours=2))
        finally:
            await mailer.close()
    finally:
        await store.close()

    received = {str(m.message["Message-ID"]): m for m in sink.messages}
    # The ids the previous release gave these emails, from the same event ids; the domain is
    # now smtp.from's (smtp.message_id_domain unset).
    for mailed in (started, known, later):
        assert message_id(mailed, DOMAIN) in received, mailed.job.name
    assert received[message_id(started, DOMAIN)].rcpt_tos == ("Ana.Silva@example.com",)
    assert received[message_id(known, DOMAIN)].message["X-IPS-Job-Outcome"] == "failed"
    assert received[message_id(known, DOMAIN)].message["Content-Language"] == "de-DE"
    assert message_id(waiting, DOMAIN) not in received
    assert message_id(dead, DOMAIN) in received, "the retried dead one went out"
