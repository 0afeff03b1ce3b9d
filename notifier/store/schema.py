"""The SQLite schema, as numbered migrations applied in order at open.

`PRAGMA user_version` holds the number of the last migration applied. Each migration and
its new version number are committed together, so a crash leaves the file at one version or
the next, never between. A migration, once released, is never edited: add the next one.
"""

from __future__ import annotations

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
)
"""Times in `deliveries` are microseconds since the epoch (UTC), so that they sort."""


def migrate(conn: sqlite3.Connection, name: str) -> int:
    """Bring the schema to the latest version; returns it. `conn` is in autocommit mode."""
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
