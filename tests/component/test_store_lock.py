"""The store's OS lock on a real file: one holder at a time, the holder's pid for the refused,
free again once released; and the store opener's must-exist rule."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from notifier.store.lock import StoreLock, StoreLockedError, lock_path
from notifier.store.open import (
    Access,
    StoreMissingError,
    StoreSchemaError,
    open_store,
    require_usable,
)
from notifier.store.protocol import StoreError
from notifier.store.schema import MIGRATIONS


def test_a_second_lock_is_refused_naming_the_holder_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    store = tmp_path / "state.sqlite3"
    first = StoreLock.acquire(store)
    with pytest.raises(StoreLockedError) as refused:
        StoreLock.acquire(store)
    assert refused.value.holder == os.getpid()
    assert str(store) in str(refused.value) and f"pid {os.getpid()}" in str(refused.value)
    assert stat.S_IMODE(lock_path(store).stat().st_mode) == 0o600

    first.release()
    StoreLock.acquire(store).release()


def test_a_store_in_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        StoreLock.acquire(tmp_path / "nowhere" / "state.sqlite3")


async def test_only_the_daemon_creates_a_store(tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    for access in (Access.READ, Access.OPERATOR):
        with pytest.raises(StoreMissingError, match="/var/lib/notifier"):
            async with open_store(store, access):
                pass
    assert not store.exists()
    async with open_store(store, Access.DAEMON) as opened:
        assert opened.path == store
        with pytest.raises(StoreLockedError):
            async with open_store(store, Access.DAEMON):
                pass
        async with open_store(store, Access.READ) as beside:  # no lock: beside the daemon
            assert sum((await beside.counts()).values()) == 0
    async with open_store(store, Access.DAEMON):
        pass  # released when the first closed


async def test_commands_beside_the_daemon_never_migrate_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "state.sqlite3"
    async with open_store(store, Access.DAEMON):
        pass
    before = store.read_bytes()
    # As after an upgrade that adds a migration, before the service restarted with it.
    monkeypatch.setattr("notifier.store.open.MIGRATIONS", (*MIGRATIONS, "SELECT 1;"))
    for access in (Access.READ, Access.OPERATOR):
        with pytest.raises(StoreSchemaError, match="older than this notifier's") as refused:
            async with open_store(store, access):
                pass
        assert "Restart the service first" in str(refused.value)
    assert store.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"not a database at all, just text\n" * 100])
def test_a_file_that_is_no_store_is_named_as_such(tmp_path: Path, content: bytes) -> None:
    store = tmp_path / "state.sqlite3"
    store.write_bytes(content)
    with pytest.raises(StoreSchemaError, match="is not a notifier store"):
        require_usable(store)
    assert store.read_bytes() == content
