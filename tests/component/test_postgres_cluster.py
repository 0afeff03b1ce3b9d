"""The tests' private PostgreSQL server: reachable with a password, on loopback only."""

from __future__ import annotations

import psycopg
import pytest

from tests import postgres


def test_a_database_of_its_own_takes_its_password_and_only_that(
    postgres_db: postgres.Database,
) -> None:
    with psycopg.connect(postgres_db.conninfo) as conn:
        row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row == (postgres_db.user, postgres_db.name)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_db.url, password="not-" + postgres_db.password)


def test_the_cluster_listens_on_loopback_only(postgres_cluster: postgres.Cluster) -> None:
    with psycopg.connect(postgres_cluster.admin_conninfo) as conn:
        row = conn.execute(
            "SELECT current_setting('listen_addresses'), current_setting('server_version_num')"
        ).fetchone()
    assert row is not None
    assert row[0] == "127.0.0.1"
    assert int(row[1]) >= 140000  # idle_session_timeout, which leadership relies on
