"""Fixtures shared by every test layer: the private PostgreSQL server (tests/postgres.py).

A test that asks for `postgres_db` gets an empty database of its own on a cluster started
once per session. Where PostgreSQL is not installed such tests are skipped with the reason,
except under CI (`CI` set), where .ci/run installs it and its absence is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import postgres


def _require_postgres() -> None:
    if postgres.available():
        return
    if os.environ.get("CI"):
        pytest.fail(postgres.MISSING)
    pytest.skip(postgres.MISSING)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[postgres.Cluster]:
    """One private cluster for the session; tests must not stop it (see `private_postgres`)."""
    _require_postgres()
    cluster = postgres.Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def postgres_db(postgres_cluster: postgres.Cluster) -> Iterator[postgres.Database]:
    """An empty database and its owner, dropped after the test."""
    database = postgres_cluster.create_database()
    yield database
    postgres_cluster.drop_database(database)


@pytest.fixture
def private_postgres() -> Iterator[postgres.Cluster]:
    """A cluster of the test's own, for tests that stop or restart the server."""
    _require_postgres()
    cluster = postgres.Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
