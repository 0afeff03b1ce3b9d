"""The SQLite store on a real file: state and outbox survive, deliveries move as expected."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import ChannelKind, RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.store.protocol import DeliveryStatus, StoreError, StoreUnavailableError
from notifier.store.schema import MIGRATIONS
from notifier.store.sqlite import DROPPED_BY_OPERATOR, SqliteStore

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = DiffRules()
ROUTING = RoutingRules()


def active_job(handle: str, state: str = "Running", progress: int = 10) -> ActiveJob:
    return ActiveJob(
        "47", f"47|{handle}|", handle, None, JobType.URL_UPLOAD, JobState.parse(state),
        "someone@example.com", "pt-BR", "Ações", None, T0 - timedelta(hours=1), None, None,
        progress, None, None, state_raw=state,
    )  # fmt: skip


def poll(state: TrackedState, minutes: int, *jobs: ActiveJob) -> tuple[TrackedState, list[Event]]:
    return diff(state, Snapshot({"47": list(jobs)}), T0 + timedelta(minutes=minutes), RULES)


async def commit(
    store: SqliteStore, state: TrackedState, events: list[Event], now: datetime
) -> None:
    """Commit as the poller does: the state, the events and their submitters' deliveries."""
    await store.commit(state, events, plan_all(events, ROUTING), now)


async def email_counts(store: SqliteStore) -> dict[DeliveryStatus, int]:
    counts = await store.counts()
    return {status: counts[(ChannelKind.EMAIL, status)] for status in DeliveryStatus}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "notifier.sqlite3")
    yield opened
    await opened.close()


async def started_jobs(store: SqliteStore, *names: str) -> tuple[TrackedState, list[Event]]:
    """A store that has seen an empty first poll, then these jobs start."""
    state, _ = poll(TrackedState(), 0)
    await commit(store, state, [], T0)
    state, events = poll(state, 1, *(active_job(n) for n in names))
    await commit(store, state, events, T0 + timedelta(minutes=1))
    return state, events


async def test_state_and_outbox_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path)
    state, events = await started_jobs(store, "A", "B")
    await store.close()

    reopened = await SqliteStore.open(path)
    try:
        assert await reopened.load_state() == state
        pending = await reopened.due_deliveries(T0 + timedelta(minutes=1), limit=10)
        assert [d.event for d in pending] == events
        assert pending[0].event.job.description == "Ações"
        assert all(d.status is DeliveryStatus.PENDING and d.attempts == 0 for d in pending)
    finally:
        await reopened.close()


async def test_the_file_and_its_journal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path)
    try:
        await started_jobs(store, "A")
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
    finally:
        await store.close()


async def test_the_schema_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    await (await SqliteStore.open(path)).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this notifier"):
        await SqliteStore.open(path)


async def test_an_event_already_in_the_outbox_is_not_added_twice(store: SqliteStore) -> None:
    state, events = await started_jobs(store, "A")
    await commit(store, state, events, T0 + timedelta(minutes=2))
    assert (await email_counts(store))[DeliveryStatus.PENDING] == 1


async def test_only_changed_rows_are_written(store: SqliteStore) -> None:
    names = [f"J{i}" for i in range(200)]
    state, _ = await started_jobs(store, *names)
    with sqlite3.connect(store.path) as spy:
        spy.executescript(
            "CREATE TABLE writes (n INTEGER); INSERT INTO writes VALUES (0);"
            "CREATE TRIGGER w1 AFTER UPDATE ON tracked_jobs BEGIN UPDATE writes SET n = n + 1; END;"
            "CREATE TRIGGER w2 AFTER INSERT ON tracked_jobs BEGIN UPDATE writes SET n = n + 1; END;"
        )
    moved = [active_job(n, progress=60 if n == "J7" else 10) for n in names]
    state, events = poll(state, 2, *moved)
    await commit(store, state, events, T0 + timedelta(minutes=2))
    with sqlite3.connect(store.path) as spy:
        assert spy.execute("SELECT n FROM writes").fetchone()[0] == 1
    assert [e.kind for e in events] == [EventKind.PROGRESS]


async def test_finished_jobs_leave_the_tracked_rows(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path)
    state, _ = await started_jobs(store, "A", "B")
    for minute in (2, 3):
        state, events = poll(state, minute, active_job("B"))
        await commit(store, state, events, T0 + timedelta(minutes=minute))
    await store.close()
    reopened = await SqliteStore.open(path)
    try:
        reloaded = await reopened.load_state()
        assert list(reloaded.jobs) == [("47", "47|B|")]
        assert reloaded.last_run[("47", "47|A|")] == 1  # a comeback will be run 2
        awaiting = await reopened.awaiting_completion()
        assert [(e.kind, e.job.name) for e in awaiting] == [(EventKind.FINISHED, "A")]
    finally:
        await reopened.close()


async def test_a_delivery_through_retry_and_send(store: SqliteStore) -> None:
    await started_jobs(store, "A")
    now = T0 + timedelta(minutes=5)
    (delivery,) = await store.due_deliveries(now, limit=10)
    await store.mark_retry([delivery.id], "421 try later", now + timedelta(minutes=10), now)
    assert await store.due_deliveries(now + timedelta(minutes=9), limit=10) == []
    (again,) = await store.due_deliveries(now + timedelta(minutes=10), limit=10)
    assert (again.attempts, again.last_error) == (1, "421 try later")
    await store.mark_sent([delivery.id], "<abc@notifier>", now + timedelta(minutes=10))
    (sent,) = await store.list_deliveries([DeliveryStatus.SENT])
    assert (sent.receipt, sent.attempts) == ("<abc@notifier>", 2)
    assert await store.due_deliveries(now + timedelta(days=1), limit=10) == []


async def test_the_backlog_is_due_at_once_when_the_mail_server_is_back(store: SqliteStore) -> None:
    await started_jobs(store, "A", "B", "C")
    now = T0 + timedelta(minutes=5)
    for delivery in await store.due_deliveries(now, limit=10):
        await store.mark_retry([delivery.id], "connection refused", now + timedelta(hours=1), now)
    assert await store.reschedule_pending(now, ChannelKind.EMAIL) == 3
    assert await store.reschedule_pending(now, ChannelKind.WEBHOOK) == 0
    assert len(await store.due_deliveries(now, limit=10)) == 3
    assert len(await store.due_deliveries(now, limit=2)) == 2


async def test_dead_and_dropped_deliveries_can_be_retried(store: SqliteStore) -> None:
    await started_jobs(store, "A", "B")
    now = T0 + timedelta(minutes=5)
    first, second = await store.due_deliveries(now, limit=10)
    await store.mark_dead([first.id], "550 no such user", now)
    assert await store.drop(second.id, now) is True
    dead = await store.list_deliveries([DeliveryStatus.DEAD])
    assert [d.last_error for d in dead] == ["550 no such user", DROPPED_BY_OPERATOR]
    assert await email_counts(store) == {
        DeliveryStatus.PENDING: 0,
        DeliveryStatus.HELD: 0,
        DeliveryStatus.SENT: 0,
        DeliveryStatus.DEAD: 2,
        DeliveryStatus.SKIPPED: 0,
    }
    later = now + timedelta(days=3)
    assert await store.retry(first.id, later) is True
    assert await store.retry(999, later) is False
    (back,) = await store.due_deliveries(later, limit=10)
    assert (back.id, back.attempts, back.pending_since) == (first.id, 0, later)
    assert back.created_at == T0 + timedelta(minutes=1)


async def test_skipped_deliveries_keep_their_reason(store: SqliteStore) -> None:
    _, events = await started_jobs(store, "A")
    (delivery,) = await store.due_deliveries(T0 + timedelta(minutes=1), limit=1)
    await store.mark_skipped(delivery.id, "started is not a notified event", T0)
    (skipped,) = await store.list_deliveries([DeliveryStatus.SKIPPED, DeliveryStatus.DEAD])
    assert (skipped.event, skipped.last_error) == (events[0], "started is not a notified event")


async def test_a_completion_is_stored_with_its_delivery(store: SqliteStore) -> None:
    state, _ = await started_jobs(store, "A")
    state, events = poll(state, 2, active_job("A", "Done"))
    await commit(store, state, events, T0 + timedelta(minutes=2))
    (waiting,) = await store.awaiting_completion()
    completion = Completion(Outcome.SUCCEEDED, ended_at=T0, duration=timedelta(minutes=61))
    due = await store.due_deliveries(T0 + timedelta(hours=1), 10)
    assert [d.event.kind for d in due] == [EventKind.STARTED], "finished is not ready before"
    await store.set_completions({waiting.id: completion}, T0)
    assert await store.awaiting_completion() == []
    (done,) = [d for d in await store.due_deliveries(T0 + timedelta(hours=1), 10) if d.completion]
    assert done.completion == completion


async def test_completions_are_stored_all_or_none(store: SqliteStore) -> None:
    state, _ = await started_jobs(store, "A", "B")
    state, events = poll(state, 2, active_job("A", "Done"), active_job("B", "Done"))
    await commit(store, state, events, T0 + timedelta(minutes=2))
    first, second = await store.awaiting_completion()
    done = Completion(Outcome.SUCCEEDED, ended_at=T0)
    with pytest.raises(StoreError, match="no event 4242"):
        await store.set_completions({first.id: done, "4242": done}, T0)
    assert len(await store.awaiting_completion()) == 2
    await store.set_completions({first.id: done, second.id: done}, T0)
    assert await store.awaiting_completion() == []


async def test_marks_made_at_once_are_each_recorded_and_one_bad_id_fails_alone(
    store: SqliteStore,
) -> None:
    await started_jobs(store, "A", "B", "C")
    a, b, c = await store.due_deliveries(T0 + timedelta(minutes=1), limit=10)
    outcomes = await asyncio.gather(
        store.mark_sent([a.id], "<a@notifier.test>", T0),
        store.mark_sent([4242], "<missing@notifier.test>", T0),
        store.mark_retry([b.id], "451 busy", T0 + timedelta(minutes=5), T0),
        store.mark_skipped(c.id, "not notified", T0),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None and outcomes[3] is None
    assert isinstance(outcomes[1], StoreError) and "no delivery 4242" in str(outcomes[1])
    (sent,) = await store.list_deliveries([DeliveryStatus.SENT])
    assert (sent.id, sent.receipt) == (a.id, "<a@notifier.test>")
    (pending,) = await store.list_deliveries([DeliveryStatus.PENDING])
    assert (pending.id, pending.attempts, pending.last_error) == (b.id, 1, "451 busy")
    (skipped,) = await store.list_deliveries([DeliveryStatus.SKIPPED])
    assert skipped.id == c.id


async def test_a_mark_still_being_written_is_kept_when_the_store_closes(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path)
    await started_jobs(store, "A")
    (delivery,) = await store.due_deliveries(T0 + timedelta(minutes=1), limit=1)
    marking = asyncio.create_task(store.mark_sent([delivery.id], "<a@notifier.test>", T0))
    await asyncio.sleep(0)  # the mark is taken, its write not yet done
    marking.cancel()
    await store.close()
    reopened = await SqliteStore.open(path)
    try:
        (sent,) = await reopened.list_deliveries([DeliveryStatus.SENT])
        assert sent.receipt == "<a@notifier.test>"
    finally:
        await reopened.close()


async def test_a_dead_letter_dropped_is_set_aside_with_its_reason(store: SqliteStore) -> None:
    await started_jobs(store, "A", "B")
    now = T0 + timedelta(minutes=5)
    bounced, owed = await store.due_deliveries(now, limit=10)
    await store.mark_dead([bounced.id], "550 no such user", now)

    assert await store.drop(bounced.id, now) is True
    assert await store.drop(owed.id, now) is True, "an owed one becomes dead"
    assert await store.drop(owed.id, now) is True, "and dropped again, set aside"
    assert await store.drop(owed.id, now) is False, "nothing left to drop"
    assert await store.drop(999, now) is False

    aside = {d.id: d.last_error for d in await store.list_deliveries([DeliveryStatus.SKIPPED])}
    assert aside == {
        bounced.id: f"{DROPPED_BY_OPERATOR}; was dead: 550 no such user",
        owed.id: f"{DROPPED_BY_OPERATOR}; was dead: {DROPPED_BY_OPERATOR}",
    }
    assert (await email_counts(store))[DeliveryStatus.DEAD] == 0


async def test_dead_letters_are_pruned_like_sent_ones(store: SqliteStore) -> None:
    await started_jobs(store, "A", "B")
    dead, pending = await store.due_deliveries(T0 + timedelta(minutes=1), limit=10)
    await store.mark_dead([dead.id], "550 no such user", T0 + timedelta(days=1))
    assert await store.prune(T0 + timedelta(days=1)) == 0
    assert await store.prune(T0 + timedelta(days=31)) == 1
    assert [d.id for d in await store.list_deliveries(list(DeliveryStatus))] == [pending.id]


async def test_old_sent_and_skipped_deliveries_can_be_pruned(store: SqliteStore) -> None:
    await started_jobs(store, "A", "B", "C")
    sent, skipped, pending = await store.due_deliveries(T0 + timedelta(minutes=1), limit=10)
    await store.mark_sent([sent.id], "<a@b>", T0 + timedelta(days=1))
    await store.mark_skipped(skipped.id, "not notified", T0 + timedelta(days=1))
    assert await store.prune(T0 + timedelta(days=1)) == 0
    assert await store.prune(T0 + timedelta(days=30)) == 2
    assert [d.id for d in await store.list_deliveries(list(DeliveryStatus))] == [pending.id]


async def test_a_missing_directory_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match=r"nowhere.*notifier\.sqlite3"):
        await SqliteStore.open(tmp_path / "nowhere" / "notifier.sqlite3")


async def test_marking_a_delivery_that_does_not_exist_is_an_error(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no delivery 42"):
        await store.mark_sent([42], "<x@y>", T0)


async def test_naive_times_are_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.due_deliveries(datetime(2026, 1, 1), limit=1)


async def test_a_full_store_says_so_and_keeps_the_last_committed_state(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path, max_pages=40)
    try:
        state, _ = await started_jobs(store, "A")
        many = [replace(active_job(f"J{i}"), description="x" * 2000) for i in range(200)]
        bigger, events = poll(state, 2, *many)
        with pytest.raises(StoreUnavailableError, match=r"notifier\.sqlite3.*full"):
            await commit(store, bigger, events, T0 + timedelta(minutes=2))
        assert await store.load_state() == state
        assert (await email_counts(store))[DeliveryStatus.PENDING] == 1
    finally:
        await store.close()


async def test_a_read_only_file_is_reported_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path)
    await started_jobs(store, "A")
    await store.close()
    _make_read_only(path)
    try:
        with pytest.raises(StoreUnavailableError, match=r"notifier\.sqlite3.*read-only"):
            await _open_and_write(path)
    finally:
        _make_writable(path)


async def _open_and_write(path: Path) -> None:
    store = await SqliteStore.open(path)
    try:
        await store.check_writable()
    finally:
        await store.close()


def _make_read_only(path: Path) -> None:
    path.chmod(0o400)
    if os.access(path, os.W_OK):  # root ignores modes; the immutable flag stops it too
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("cannot make a file read-only for this user")


def _make_writable(path: Path) -> None:
    subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    path.chmod(0o600)
