"""BEGIN IMMEDIATE transactions on the store's connection, and what SQLite's errors mean
for the operator ("cannot write now" versus anything else).

Never decides what to retry: callers see StoreUnavailableError or StoreError.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from notifier.store.protocol import StoreError, StoreUnavailableError

# What the operator must hear for the SQLite errors that mean "cannot write now".
UNAVAILABLE = {
    "SQLITE_FULL": "the disk (or the store's size limit) is full",
    "SQLITE_READONLY": "the file or its directory is read-only",
    "SQLITE_CANTOPEN": "the file cannot be opened",
    "SQLITE_PERM": "permission denied",
    "SQLITE_BUSY": "another process holds the write lock",
    "SQLITE_LOCKED": "the database is locked",
    "SQLITE_IOERR": "an I/O error occurred",
}


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (the commit's own included)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            try:
                self._conn.execute("COMMIT")
                return
            except BaseException:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, meaning in UNAVAILABLE.items():
        if name.startswith(prefix):
            return StoreUnavailableError(f"cannot write the store {path}: {meaning} ({exc})")
    return StoreError(f"store {path}: {exc}")
