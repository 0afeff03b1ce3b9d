"""The PostgreSQL outbox's statements, as store/outbox.py's for SQLite: the texts of the
delivery and operator statements store.py runs, making an event's deliveries ready once its
outcome is known, and the WHERE clause of an operator's query.

Runs inside the caller's connection and transaction; never opens, commits or rolls back
anything itself, and never claims (claims.py does). Knows the column layout of schema.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import LiteralString

from notifier.core.codec import decode_event
from notifier.core.events import Completion
from notifier.store.postgres.target import Connection
from notifier.store.protocol import DeliveryQuery
from notifier.store.rows import completion_text, skipped_for_outcome
from notifier.store.schema import fold

SELECT: LiteralString = (  # as store/rows.py's DELIVERY_SELECT
    "SELECT d.id, e.event, d.channel, d.recipient, d.locale, d.status, d.attempts,"
    " d.created_at, d.next_attempt_at, d.last_error, d.receipt, e.completion, d.pending_since,"
    " d.updated_at FROM deliveries AS d JOIN events AS e ON e.id = d.event_id"
)
AWAITING: LiteralString = (
    "SELECT event FROM events WHERE completion IS NULL AND id IN (SELECT event_id"
    " FROM deliveries WHERE status = 'pending' AND NOT ready) ORDER BY created_at, id"
)
HOLD: LiteralString = (
    "UPDATE deliveries SET status = 'held', next_attempt_at = %s, updated_at = %s,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = ANY(%s) AND status = 'pending'"
)
SKIPPED: LiteralString = (
    "UPDATE deliveries SET status = 'skipped', last_error = %s, updated_at = %s,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = ANY(%s) AND status IN ('pending', 'held')"
)
RESCHEDULE: LiteralString = (
    "UPDATE deliveries SET next_attempt_at = %s, updated_at = %s"
    " WHERE status = 'pending' AND next_attempt_at > %s AND channel = %s"
)
RETRY: LiteralString = (
    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = %s,"
    " pending_since = %s, updated_at = %s, claimed_by = NULL, claimed_until = NULL,"
    " ready = (SELECT NOT (e.kind ="
    " 'finished' AND e.completion IS NULL) FROM events AS e WHERE e.id = deliveries.event_id)"
    " WHERE id = %s AND status IN ('dead', 'skipped')"
)
DROP: LiteralString = (
    "UPDATE deliveries SET status = 'dead', last_error = %s, updated_at = %s,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = %s AND status IN ('pending', 'held')"
)
DROP_DEAD: LiteralString = (
    "UPDATE deliveries SET status = 'skipped', updated_at = %s, last_error = %s"
    " || coalesce('; was dead: ' || last_error, '') WHERE id = %s AND status = 'dead'"
)
PRUNE: LiteralString = (
    "DELETE FROM deliveries WHERE status IN ('sent', 'skipped', 'dead') AND updated_at < %s"
)
PRUNE_EVENTS: LiteralString = (
    "DELETE FROM events WHERE created_at < %s AND NOT EXISTS"
    " (SELECT 1 FROM deliveries AS d WHERE d.event_id = events.id)"
)
SENDS: LiteralString = (
    "SELECT max(updated_at) FROM deliveries WHERE channel = %s AND recipient_key = %s"
    " AND status = 'sent' AND updated_at >= %s GROUP BY receipt ORDER BY 1"
)
HELD_UNTIL: LiteralString = (
    "SELECT min(next_attempt_at) FROM deliveries WHERE channel = %s AND recipient_key = %s"
    " AND status = 'held'"
)
SINGLE_RECEIPTS: LiteralString = (  # a digest's deliveries share its receipt
    "SELECT receipt FROM deliveries WHERE channel = %(channel)s AND recipient_key = %(key)s"
    " AND status = 'sent' AND updated_at >= %(since)s GROUP BY receipt HAVING count(*) = 1"
)
SENT_SINGLY: LiteralString = (
    SELECT + " WHERE d.channel = %(channel)s AND d.recipient_key = %(key)s"
    " AND d.status = 'sent' AND d.updated_at >= %(since)s AND d.receipt IN ("
    + SINGLE_RECEIPTS + ") ORDER BY d.updated_at, d.id"
)  # fmt: skip
OLDEST_OWED: LiteralString = (
    "SELECT channel, min(pending_since) FROM deliveries"
    " WHERE status IN ('pending', 'held') GROUP BY channel"
)
PROBE: LiteralString = (
    "INSERT INTO write_probe (id, at) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET at = %s"
)


async def set_completions(
    conn: Connection, completions: Mapping[str, Completion], now: datetime
) -> list[str]:
    """Record each event's outcome and make its deliveries ready; those not wanted for the
    outcome skipped, with the reason `notifier.core.routing.skip_reason` gives (as
    outbox.py's). Five statements however many events: a burst's outcomes are one round
    trip each, not four per job. Returns the ids of events the store does not have (the
    caller rolls back: none of them is recorded)."""
    ids = list(completions)
    cursor = await conn.execute(
        "UPDATE events SET completion = v.completion FROM unnest(%s::text[], %s::text[])"
        " AS v(id, completion) WHERE events.id = v.id RETURNING events.id, events.event",
        (ids, [completion_text(completions[i]) for i in ids]),
    )
    events = {str(ident): decode_event(str(text)) for ident, text in await cursor.fetchall()}
    missing = [i for i in ids if i not in events]
    if missing:
        return missing
    cursor = await conn.execute(
        "SELECT id, event_id, channel, recipient, outcomes FROM deliveries"
        " WHERE event_id = ANY(%s) AND NOT ready",
        (ids,),
    )
    ready: list[int] = []
    skipped: list[tuple[int, str]] = []
    for ident, event_id, channel, address, outcomes in await cursor.fetchall():
        done, event = completions[str(event_id)], events[str(event_id)]
        reason = skipped_for_outcome(event, done, channel, address, outcomes)
        if reason is None:
            ready.append(int(ident))
        else:
            skipped.append((int(ident), reason))
    await conn.execute("UPDATE deliveries SET ready = true WHERE id = ANY(%s)", (ready,))
    await conn.execute(
        "UPDATE deliveries SET ready = true, status = 'skipped', last_error = v.reason,"
        " updated_at = %s FROM unnest(%s::bigint[], %s::text[]) AS v(id, reason)"
        " WHERE deliveries.id = v.id AND deliveries.status = 'pending'",
        (now, [i for i, _ in skipped], [r for _, r in skipped]),
    )
    return []


def query_where(query: DeliveryQuery) -> tuple[LiteralString, tuple[object, ...]]:
    """The WHERE clause (over `d`, the deliveries, and `e`, their events) and its arguments,
    as outbox.py's `query_where`."""
    clauses: list[LiteralString] = ["d.status = ANY(%s)"]
    args: list[object] = [[status.value for status in query.statuses]]
    if query.recipient is not None:
        clauses.append("d.channel = %s AND d.recipient_key = %s")
        args += [query.recipient.channel.value, fold(query.recipient.address)]
    if query.job is not None:
        clauses.append(
            "(e.event::jsonb #>> '{job,job_handle}' = %s OR e.event::jsonb #>> '{job,name}' = %s)"
        )
        args += [query.job, query.job]
    if query.since is not None:
        clauses.append("d.created_at >= %s")
        args.append(query.since)
    return " AND ".join(clauses), tuple(args)
