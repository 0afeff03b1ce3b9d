"""The PostgreSQL schema: migrations applied once, by one replica at a time, never backwards."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from notifier.store.postgres.schema import MIGRATIONS, migrate
from notifier.store.postgres.target import PostgresError, PostgresTarget, connect
from tests import postgres


async def opened(database: postgres.Database) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await connect(PostgresTarget(database.url, database.password), connect_within=5)


async def tables(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> set[str]:
    cursor = await conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    return {str(row[0]) for row in await cursor.fetchall()}


async def test_replicas_starting_together_migrate_once(postgres_db: postgres.Database) -> None:
    conns = [await opened(postgres_db) for _ in range(3)]
    try:
        versions = await asyncio.gather(*(migrate(c, "test") for c in conns))
        assert versions == [len(MIGRATIONS)] * 3
        assert {
            "tracked_jobs",
            "events",
            "deliveries",
            "leadership",
            "notifier_schema",
        } <= await tables(conns[0])
        cursor = await conns[0].execute("SELECT term FROM leadership")
        assert await cursor.fetchall() == [(0,)]
        assert await migrate(conns[0], "test") == len(MIGRATIONS)  # again: nothing to do
    finally:
        for conn in conns:
            await conn.close()


async def test_a_newer_schema_is_refused_naming_the_store(postgres_db: postgres.Database) -> None:
    async with await opened(postgres_db) as conn:
        await migrate(conn, "test")
        await conn.execute("UPDATE notifier_schema SET version = version + 1")
        with pytest.raises(PostgresError, match=r"db-name has schema version .*upgrade"):
            await migrate(conn, "db-name")


async def test_a_wrong_password_is_an_error_naming_the_target_not_the_password(
    postgres_db: postgres.Database,
) -> None:
    wrong = "Not-The-Pa55word"
    with pytest.raises(PostgresError) as raised:
        await connect(PostgresTarget(postgres_db.url, wrong), connect_within=5)
    message = str(raised.value)
    assert message.startswith(f"cannot connect to {postgres_db.url}: ")
    assert "password authentication failed" in message
    assert wrong not in message


def test_the_target_describes_itself_without_its_password() -> None:
    target = PostgresTarget("postgresql://notifier@db.example.com:5433/jobs", "Pa55word-x")
    assert target.describe() == "postgresql://notifier@db.example.com:5433/jobs"
    assert "Pa55word" not in repr(target)
