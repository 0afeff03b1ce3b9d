"""Rows <-> values for the SQLite store, and the row changes between two tracked states.

Runs on the store's worker thread only. Knows the column layout of schema.py; never opens
or commits anything itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from notifier.core.codec import (
    decode_completion,
    decode_event,
    decode_tracked_job,
    encode_completion,
    encode_tracked_job,
)
from notifier.core.events import Completion, Event, Outcome
from notifier.core.routing import ChannelKind, Recipient, skip_reason, wanted
from notifier.core.state import JobKey, TrackedState
from notifier.store.protocol import Delivery, DeliveryStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DELIVERY_SELECT = (
    "SELECT d.id, e.event, d.channel, d.recipient, d.locale, d.status, d.attempts,"
    " d.created_at, d.next_attempt_at, d.last_error, d.receipt, e.completion, d.pending_since,"
    " d.updated_at FROM deliveries AS d JOIN events AS e ON e.id = d.event_id"
)


def micros(at: datetime) -> int:
    """Microseconds since the epoch; refuses naive datetimes, whose instant is unknown."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {at!r}")
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def completion_text(completion: Completion) -> str:
    return encode_completion(completion)


def micros_instant(value: object) -> datetime:
    """An instant as SQLite holds it: microseconds since the epoch."""
    return from_micros(int(str(value)))


def delivery(
    row: tuple[object, ...], instant: Callable[[object], datetime] = micros_instant
) -> Delivery:
    """One outbox row as `DELIVERY_SELECT` reads it (PostgreSQL's claims read the same
    columns); `instant` turns the store's times into datetimes."""
    (ident, event, channel, address, locale, status, attempts, created, due, error) = row[:10]
    receipt, completion, since, updated = row[10:]
    return Delivery(
        id=int(str(ident)),
        event=decode_event(str(event)),
        recipient=Recipient(
            ChannelKind(str(channel)), str(address), None if locale is None else str(locale)
        ),
        status=DeliveryStatus(str(status)),
        attempts=int(str(attempts)),
        created_at=instant(created),
        next_attempt_at=instant(due),
        last_error=None if error is None else str(error),
        receipt=None if receipt is None else str(receipt),
        completion=None if completion is None else decode_completion(str(completion)),
        pending_since=instant(since),
        updated_at=instant(updated),
    )


def outcomes_text(outcomes: frozenset[Outcome]) -> str:
    return ",".join(sorted(o.value for o in outcomes))


def outcomes_of(text: str) -> frozenset[Outcome]:
    return frozenset(Outcome(part) for part in text.split(",") if part)


def load_state(conn: sqlite3.Connection) -> TrackedState:
    jobs = {
        (company, handle): decode_tracked_job(text)
        for company, handle, text in conn.execute(
            "SELECT company_handle, job_handle, tracked FROM tracked_jobs"
        )
    }
    last_run = {
        (company, handle): int(run)
        for company, handle, run in conn.execute(
            "SELECT company_handle, job_handle, last_run FROM job_runs"
        )
    }
    scopes = {
        scope: datetime.fromisoformat(at)
        for scope, at in conn.execute("SELECT scope, polled_at FROM scopes")
    }
    return TrackedState(jobs=jobs, last_run=last_run, scopes=scopes)


@dataclass(frozen=True, slots=True)
class StateChanges:
    """The rows to write to go from one committed tracked state to the next."""

    upserted_jobs: list[tuple[str, str, str]]
    deleted_jobs: list[JobKey]
    runs: list[tuple[str, str, int]]
    deleted_runs: list[JobKey]
    scopes: list[tuple[str, str]]
    deleted_scopes: list[tuple[str]]

    @classmethod
    def between(cls, old: TrackedState, new: TrackedState) -> StateChanges:
        upserted: list[tuple[str, str, str]] = []
        old_jobs = old.jobs
        for key, tracked in new.jobs.items():
            before = old_jobs.get(key)
            # The reducer hands back the same object for an unchanged job: `is` is the
            # fast path, `==` catches an equal copy (a state that went through a codec).
            if before is not tracked and before != tracked:
                upserted.append((key[0], key[1], encode_tracked_job(tracked)))
        deleted = [key for key in old_jobs if key not in new.jobs]
        runs: list[tuple[str, str, int]] = []
        deleted_runs: list[JobKey] = []
        if new.last_run is not old.last_run:
            runs = [(k[0], k[1], r) for k, r in new.last_run.items() if old.last_run.get(k) != r]
            deleted_runs = [key for key in old.last_run if key not in new.last_run]
        scopes = [(s, at.isoformat()) for s, at in new.scopes.items() if old.scopes.get(s) != at]
        gone = [(s,) for s in old.scopes if s not in new.scopes]
        return cls(upserted, deleted, runs, deleted_runs, scopes, gone)

    def write(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO tracked_jobs (company_handle, job_handle, tracked) VALUES (?, ?, ?)"
            " ON CONFLICT (company_handle, job_handle) DO UPDATE SET tracked = excluded.tracked",
            self.upserted_jobs,
        )
        conn.executemany(
            "DELETE FROM tracked_jobs WHERE company_handle = ? AND job_handle = ?",
            self.deleted_jobs,
        )
        conn.executemany(
            "INSERT INTO job_runs (company_handle, job_handle, last_run) VALUES (?, ?, ?)"
            " ON CONFLICT (company_handle, job_handle) DO UPDATE SET last_run = excluded.last_run",
            self.runs,
        )
        conn.executemany(
            "DELETE FROM job_runs WHERE company_handle = ? AND job_handle = ?", self.deleted_runs
        )
        conn.executemany(
            "INSERT INTO scopes (scope, polled_at) VALUES (?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET polled_at = excluded.polled_at",
            self.scopes,
        )
        conn.executemany("DELETE FROM scopes WHERE scope = ?", self.deleted_scopes)


def skipped_for_outcome(
    event: Event, done: Completion, channel: object, address: object, outcomes: object
) -> str | None:
    """For a delivery of `event` not yet ready (its channel, recipient and `outcomes`
    columns), now that its outcome is `done`: None when it is wanted, else the reason it is
    skipped (`notifier.core.routing.skip_reason`, the same in every store)."""
    if wanted(outcomes_of(str(outcomes)), done.outcome):
        return None
    return skip_reason(event, Recipient(ChannelKind(str(channel)), str(address)), done.outcome)
