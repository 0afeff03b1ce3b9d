"""The SQLite schema, as numbered migrations applied in order at open.

`PRAGMA user_version` holds the number of the last migration applied. Each migration and
its new version number are committed together, so a crash leaves the file at one version or
the next, never between. A migration, once released, is never edited: add the next one.
"""

from __future__ import annotations

import json
import sqlite3

from notifier.store.protocol import StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: tracked state, run numbers, scopes, the outbox.
    """
    CREATE TABLE tracked_jobs (
        company_handle TEXT NOT NULL,
        job_handle TEXT NOT NULL,
        tracked TEXT NOT NULL,
        PRIMARY KEY (company_handle, job_handle)
    ) WITHOUT ROWID;
    CREATE TABLE job_runs (
        company_handle TEXT NOT NULL,
        job_handle TEXT NOT NULL,
        last_run INTEGER NOT NULL,
        PRIMARY KEY (company_handle, job_handle)
    ) WITHOUT ROWID;
    CREATE TABLE scopes (
        scope TEXT PRIMARY KEY,
        polled_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        run_id TEXT NOT NULL,
        event TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        pending_since INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_error TEXT,
        message_id TEXT,
        completion TEXT
    );
    CREATE INDEX deliveries_by_status ON deliveries (status, next_attempt_at);
    CREATE TABLE write_probe (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL
    );
    """,
    # 2: the outbox keyed by (event, channel, recipient); events stored once, with their
    # outcome. Every row of 1 becomes the submitter's email delivery, with its id, status,
    # attempts, times, reason and Message-ID; a `finished` one without an outcome waits.
    """
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        run_id TEXT NOT NULL,
        event TEXT NOT NULL,
        completion TEXT,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL REFERENCES events (id),
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
        recipient TEXT NOT NULL,
        recipient_key TEXT NOT NULL,
        locale TEXT,
        outcomes TEXT NOT NULL DEFAULT '',
        ready INTEGER NOT NULL CHECK (ready IN (0, 1)),
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'held', 'sent', 'dead', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        pending_since INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_error TEXT,
        receipt TEXT,
        UNIQUE (event_id, channel, recipient_key)
    );
    INSERT INTO events (id, kind, run_id, event, completion, created_at)
        SELECT event_id, kind, run_id, event, completion, created_at FROM deliveries;
    INSERT INTO outbox (id, event_id, channel, recipient, recipient_key, locale, outcomes,
            ready, status, attempts, created_at, pending_since, next_attempt_at, updated_at,
            last_error, receipt)
        SELECT id, event_id, 'email', notifier_submitter(event),
            notifier_fold(notifier_submitter(event)), NULL, '',
            CASE WHEN kind = 'finished' AND completion IS NULL THEN 0 ELSE 1 END,
            status, attempts, created_at, pending_since, next_attempt_at, updated_at,
            last_error, message_id
        FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE outbox RENAME TO deliveries;
    CREATE INDEX deliveries_due ON deliveries (status, ready, next_attempt_at);
    CREATE INDEX deliveries_by_recipient
        ON deliveries (channel, recipient_key, status, updated_at);
    CREATE INDEX deliveries_by_event ON deliveries (event_id);
    """,
)
"""Times in `deliveries` and `events` are microseconds since the epoch (UTC), so that they
sort. `recipient_key` is the recipient as compared (`Recipient.key`); `outcomes` the
comma-separated outcomes a `finished` delivery is sent for ('' = all); `ready` is 0 while a
`finished` event's outcome is unknown."""


def fold(address: str) -> str:
    """The recipient as compared: `notifier.core.routing.Recipient.key`'s form."""
    return address.strip().casefold()


def _submitter(event_text: str) -> str:
    job = json.loads(event_text).get("job") or {}
    return str(job.get("submit_user_email") or "")


def _functions(conn: sqlite3.Connection) -> None:
    """What migrations compute in Python (the same folding as the code that reads rows)."""
    conn.create_function("notifier_fold", 1, fold, deterministic=True)
    conn.create_function("notifier_submitter", 1, _submitter, deterministic=True)


def migrate(conn: sqlite3.Connection, name: str) -> int:
    """Bring the schema to the latest version; returns it. `conn` is in autocommit mode."""
    _functions(conn)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise StoreError(
            f"store {name} has schema version {version}, newer than this notifier "
            f"understands ({len(MIGRATIONS)}): upgrade the notifier"
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[number - 1]
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
