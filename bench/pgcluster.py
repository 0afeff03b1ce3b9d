"""A private PostgreSQL server for the benchmarks, as durable as a production server.

The tests' cluster (tests/postgres.py: initdb in a temporary directory, a free loopback port,
run as the `postgres` user when root) with the settings it relaxes for speed put back to
PostgreSQL's defaults: `fsync = on`, `full_page_writes = on`, `shared_buffers = 128MB`
(`synchronous_commit` is left at its default, on). A commit then waits for its WAL to reach
the disk, as SQLite's `synchronous = FULL` does, so the two stores are compared fairly.

Owns the cluster's life and the reading of its settings. Never touches the machine's own
PostgreSQL; never measures anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.postgres import Cluster, Database

DEFAULTS = {"fsync": "on", "full_page_writes": "on", "shared_buffers": "128MB"}
SHOWN = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers")


@contextmanager
def durable_cluster() -> Iterator[Cluster]:
    """A started durable cluster of its own (`create_database` for each store), removed
    after."""
    cluster = Cluster()
    try:
        # Later lines of postgresql.conf win over the test settings written before them.
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in DEFAULTS.items())
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def settings(database: Database) -> dict[str, str]:
    """The durability settings the server runs with, as SHOW gives them."""
    query = "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name"
    with psycopg.connect(database.conninfo) as conn:
        found = conn.execute(query, (list(SHOWN),)).fetchall()
    return {str(name): str(value) for name, value in found}
