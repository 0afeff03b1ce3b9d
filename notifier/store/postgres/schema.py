"""The PostgreSQL schema, as numbered migrations applied in order at start.

`notifier_schema.version` holds the number of the last migration applied. Each migration
and its new number are committed in one transaction (PostgreSQL's DDL is transactional),
under an advisory lock, so replicas starting together apply each migration once and a crash
leaves the database at one version or the next. A migration, once released, is never
edited: add the next one.

The tables are the SQLite store's as its migrations leave them (store/schema.py), with
times as timestamptz and `ready` a boolean, plus what replicas need: the leadership term
that fences a former leader's commits, and the claim columns of a delivery (who sends it,
until when).
"""

from __future__ import annotations

from notifier.store.postgres.target import Connection, PostgresError

# pg_advisory_xact_lock(MIGRATION_LOCK, 0): replicas migrate one at a time.
MIGRATION_LOCK = 0x4E6F7469  # "Noti"

MIGRATIONS: tuple[str, ...] = (
    # 1: tracked state, run numbers, scopes, events and the outbox keyed by (event, channel,
    # recipient) with claims, leadership, write probe.
    """
    CREATE TABLE tracked_jobs (
        company_handle text NOT NULL,
        job_handle text NOT NULL,
        tracked text NOT NULL,
        PRIMARY KEY (company_handle, job_handle)
    );
    CREATE TABLE job_runs (
        company_handle text NOT NULL,
        job_handle text NOT NULL,
        last_run integer NOT NULL,
        PRIMARY KEY (company_handle, job_handle)
    );
    CREATE TABLE scopes (
        scope text PRIMARY KEY,
        polled_at text NOT NULL
    );
    CREATE TABLE events (
        id text PRIMARY KEY,
        kind text NOT NULL,
        run_id text NOT NULL,
        event text NOT NULL,
        completion text,
        created_at timestamptz NOT NULL
    );
    CREATE TABLE deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id text NOT NULL REFERENCES events (id),
        channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
        recipient text NOT NULL,
        recipient_key text NOT NULL,
        locale text,
        outcomes text NOT NULL DEFAULT '',
        ready boolean NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'held', 'sent', 'dead', 'skipped')),
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        pending_since timestamptz NOT NULL,
        next_attempt_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        last_error text,
        receipt text,
        claimed_by text,
        claimed_until timestamptz,
        UNIQUE (event_id, channel, recipient_key)
    );
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id)
        WHERE status = 'pending' AND ready;
    CREATE INDEX deliveries_by_recipient
        ON deliveries (channel, recipient_key, status, updated_at);
    CREATE INDEX deliveries_by_event ON deliveries (event_id);
    CREATE TABLE leadership (
        id integer PRIMARY KEY CHECK (id = 1),
        term bigint NOT NULL,
        holder text NOT NULL,
        since timestamptz NOT NULL
    );
    INSERT INTO leadership (id, term, holder, since) VALUES (1, 0, '', now());
    CREATE TABLE write_probe (
        id integer PRIMARY KEY CHECK (id = 1),
        at timestamptz NOT NULL
    );
    """,
)

_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS notifier_schema (
        id integer PRIMARY KEY CHECK (id = 1),
        version integer NOT NULL
    )
"""


async def migrate(conn: Connection, name: str) -> int:
    """Bring the schema to the latest version; returns it. `conn` is in autocommit mode;
    `name` names the database in messages."""
    version = await _current(conn, name)
    while version < len(MIGRATIONS):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (MIGRATION_LOCK,))
            version = await _version(conn)
            if version >= len(MIGRATIONS):
                break
            await conn.execute(MIGRATIONS[version].encode())
            await conn.execute(
                "UPDATE notifier_schema SET version = %s WHERE id = 1", (version + 1,)
            )
            version += 1
    return version


async def _current(conn: Connection, name: str) -> int:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (MIGRATION_LOCK,))
        await conn.execute(_VERSION_TABLE)
        await conn.execute(
            "INSERT INTO notifier_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
        )
        version = await _version(conn)
    if version > len(MIGRATIONS):
        raise PostgresError(
            f"store {name} has schema version {version}, newer than this notifier "
            f"understands ({len(MIGRATIONS)}): upgrade the notifier"
        )
    return version


async def _version(conn: Connection) -> int:
    cursor = await conn.execute("SELECT version FROM notifier_schema WHERE id = 1")
    row = await cursor.fetchone()
    return int(str(row[0])) if row else 0


async def current_version(conn: Connection) -> int:
    """The schema version, without changing anything (0: no notifier has migrated it)."""
    cursor = await conn.execute("SELECT to_regclass('notifier_schema') IS NOT NULL")
    row = await cursor.fetchone()
    if not row or not row[0]:
        return 0
    return await _version(conn)
