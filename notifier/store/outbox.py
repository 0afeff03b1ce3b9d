"""The outbox's statements, on the store's worker thread: the events and deliveries a commit
writes, the outcomes that make deliveries ready, a recipient's recent sends, the
operator's queries, pruning.

Runs inside the caller's transaction (sqlite.py opens and commits them); never opens,
commits or rolls back anything itself. Knows the column layout of schema.py.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from notifier.core.codec import decode_event, encode_event
from notifier.core.events import Completion, Event, EventKind
from notifier.core.routing import PlannedDelivery
from notifier.store import rows
from notifier.store.protocol import BurstHistory, DeliveryQuery, DeliveryStatus, RecipientKey
from notifier.store.schema import fold


def write(
    conn: sqlite3.Connection, events: list[Event], planned: list[PlannedDelivery], now: int
) -> None:
    """The events (once each) and their planned deliveries (once per recipient)."""
    event_rows = [(e.id, e.kind.value, e.thread_id, encode_event(e), now) for e in events]
    waiting = {e.id for e in events if e.kind is EventKind.FINISHED}
    conn.executemany(
        "INSERT OR IGNORE INTO events (id, kind, run_id, event, created_at) VALUES (?, ?, ?, ?, ?)",
        event_rows,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO deliveries (event_id, channel, recipient, recipient_key,"
        " locale, outcomes, ready, status, last_error, created_at, pending_since,"
        " next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_planned_row(p, p.event_id not in waiting, now) for p in planned],
    )


def awaiting(conn: sqlite3.Connection) -> list[Event]:
    """`finished` events whose owed deliveries wait for the outcome."""
    sql = (
        "SELECT event FROM events WHERE completion IS NULL AND id IN (SELECT event_id"
        " FROM deliveries WHERE status = 'pending' AND ready = 0) ORDER BY created_at, id"
    )
    return [decode_event(str(text)) for (text,) in conn.execute(sql)]


def set_completions(conn: sqlite3.Connection, completions: dict[str, Completion], now: int) -> str:
    """Record each outcome and make its deliveries ready; the first unknown event id, or ""
    (the caller then rolls back)."""
    for event_id, completion in completions.items():
        text = rows.completion_text(completion)
        sql = "UPDATE events SET completion = ? WHERE id = ?"
        if conn.execute(sql, (text, event_id)).rowcount != 1:
            return event_id
        _make_ready(conn, event_id, completion, now)
    return ""


def _make_ready(conn: sqlite3.Connection, event_id: str, done: Completion, now: int) -> None:
    """The event's deliveries ready; those not wanted for the outcome skipped, with the
    reason `notifier.core.routing.skip_reason` gives."""
    (text,) = conn.execute("SELECT event FROM events WHERE id = ?", (event_id,)).fetchone()
    event = decode_event(str(text))
    sql = "SELECT id, channel, recipient, outcomes FROM deliveries WHERE event_id = ? AND ready = 0"
    for ident, channel, address, outcomes in conn.execute(sql, (event_id,)).fetchall():
        reason = rows.skipped_for_outcome(event, done, channel, address, outcomes)
        if reason is None:
            conn.execute("UPDATE deliveries SET ready = 1 WHERE id = ?", (ident,))
            continue
        conn.execute(
            "UPDATE deliveries SET ready = 1, status = 'skipped', last_error = ?,"
            " updated_at = ? WHERE id = ? AND status = 'pending'",
            (reason, now, ident),
        )


def burst_history(
    conn: sqlite3.Connection, keys: list[RecipientKey], since: int
) -> dict[RecipientKey, BurstHistory]:
    found: dict[RecipientKey, BurstHistory] = {}
    for channel, key in keys:
        sends = conn.execute(
            "SELECT max(updated_at) FROM deliveries WHERE channel = ? AND recipient_key = ?"
            " AND status = 'sent' AND updated_at >= ? GROUP BY receipt ORDER BY 1",
            (channel.value, key, since),
        ).fetchall()
        (held,) = conn.execute(
            "SELECT min(next_attempt_at) FROM deliveries WHERE channel = ?"
            " AND recipient_key = ? AND status = 'held'",
            (channel.value, key),
        ).fetchone()
        found[(channel, key)] = BurstHistory(
            sends=tuple(rows.from_micros(int(at)) for (at,) in sends),
            held_until=None if held is None else rows.from_micros(int(held)),
        )
    return found


def query_where(query: DeliveryQuery) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (over `d`, the deliveries, and `e`, their events) and its arguments."""
    statuses = [status.value for status in query.statuses]
    clauses = [f"d.status IN ({', '.join('?' * len(statuses))})"]
    args: list[Any] = list(statuses)
    if query.recipient is not None:
        clauses.append("d.channel = ? AND d.recipient_key = ?")
        args += [query.recipient.channel.value, fold(query.recipient.address)]
    if query.job is not None:
        clauses.append(
            "(json_extract(e.event, '$.job.job_handle') = ?"
            " OR json_extract(e.event, '$.job.name') = ?)"
        )
        args += [query.job, query.job]
    if query.since is not None:
        clauses.append("d.created_at >= ?")
        args.append(rows.micros(query.since))
    return " AND ".join(clauses), tuple(args)


def prune(conn: sqlite3.Connection, before: int) -> int:
    """Sent, skipped and dead deliveries last touched before `before`, and events left
    without deliveries; how many deliveries."""
    removed = conn.execute(
        "DELETE FROM deliveries WHERE status IN ('sent', 'skipped', 'dead') AND updated_at < ?",
        (before,),
    ).rowcount
    conn.execute(
        "DELETE FROM events WHERE created_at < ? AND NOT EXISTS"
        " (SELECT 1 FROM deliveries AS d WHERE d.event_id = events.id)",
        (before,),
    )
    return int(removed)


def _planned_row(planned: PlannedDelivery, ready: bool, now: int) -> tuple[Any, ...]:
    to = planned.recipient
    status = DeliveryStatus.SKIPPED if planned.skip else DeliveryStatus.PENDING
    return (
        planned.event_id,
        to.channel.value,
        to.address,
        fold(to.address),
        to.locale,
        rows.outcomes_text(planned.outcomes),
        int(ready or bool(planned.skip)),
        status.value,
        planned.skip or None,
        now,
        now,
        now,
        now,
    )
