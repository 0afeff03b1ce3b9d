"""deploy/postgres/notifier-database.sql, as INSTALL.md tells an operator to run it: its login,
without any further privilege, migrates the store, leads and commits, and no other login can
use the database."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from notifier.store.open import Access, open_configured
from tests import postgres

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "notifier-database.sql"
PASSWORD = "a-long-database-password"


def run_script(cluster: postgres.Cluster) -> None:
    subprocess.run(
        [str(postgres.BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-v", f"password={PASSWORD}", "-f", str(SCRIPT), cluster.admin_conninfo],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


async def test_the_shipped_database_script_gives_the_notifier_all_it_needs_and_no_more(
    private_postgres: postgres.Cluster,
) -> None:
    await asyncio.to_thread(run_script, private_postgres)
    url = f"postgresql://notifier@{private_postgres.host}:{private_postgres.port}/notifier"
    async with open_configured(
        Access.DAEMON, path=Path("unused"), url=url, password=PASSWORD, leader_lease=1.0
    ) as opened:
        await asyncio.wait_for(opened.leading.wait_until_leader(), timeout=20)
        state = await opened.store.load_state()
        await opened.store.commit(state, [], [], datetime.now(UTC))
        await opened.store.check_writable()

    other = private_postgres.create_database("other")
    stranger = f"host={other.host} port={other.port} user={other.user} dbname=notifier"
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        await asyncio.to_thread(psycopg.connect, stranger, password=other.password)
