"""StoreLock: one process at a time on one SQLite store, by an OS file lock beside it.

Owns the lock file (`<store>.lock`, 0600, holding the pid of the process that locked it).
The lock is `flock(2)` on that file: the kernel releases it when the process ends in any way,
kill -9 included, so a restart always gets it back; a stale pid left in the file means
nothing. Never locks the database file itself: SQLite's own POSIX locks live there, and
mixing the two kinds on one file is undefined on some file systems (NFS).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from notifier.store.protocol import StoreError


class StoreLockedError(StoreError):
    """Another process holds the store: this one must not run on it."""

    def __init__(self, store: Path, holder: int | None) -> None:
        who = f"pid {holder}" if holder else "a process whose pid could not be read"
        super().__init__(
            f"store {store} is in use by another notifier ({who}, lock {lock_path(store)}): "
            "only one daemon may run on a SQLite store, or it would send every email twice. "
            "Stop the other one first (systemctl stop notifier), or give this one its own "
            "store.path"
        )
        self.store = store
        self.holder = holder


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


class StoreLock:
    """Held from `acquire` until `release` (or until the process ends)."""

    def __init__(self, store: Path, fd: int) -> None:
        self.store = store
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, store: Path) -> StoreLock:
        """Lock `store` for this process, or raise StoreLockedError at once (never waits)."""
        path = lock_path(store)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            raise StoreError(
                f"the store's directory {store.parent} does not exist: create it, or set "
                "store.path to a file in an existing directory"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot open the lock file {path}: {exc.strerror or exc} (run the notifier "
                "as the user that owns the store)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreLockedError(store, holder) from None
            raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(store, fd)

    def release(self) -> None:
        """Unlock; the file stays (removing it could let two processes lock two files)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the flock


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
