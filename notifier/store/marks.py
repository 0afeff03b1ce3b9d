"""Group commit of delivery marks: updates asked for at the same moment share one commit.

With every commit synced to disk, one commit for a group keeps a burst of sends from
queueing behind a sync each. Owns the queue and who hears what of its result; never writes
SQL of its own (the store hands it statements and a runner for its worker thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Updates = list[tuple[str, tuple[Any, ...]]]
Runner = Callable[[Updates], Awaitable[list[int]]]
"""Runs the updates in one transaction on the store's thread; each one's row count."""


@dataclass(slots=True)
class _Mark:
    sql: str
    args: tuple[Any, ...]
    done: asyncio.Future[int]


class MarkQueue:
    def __init__(self, run: Runner) -> None:
        self._run = run
        self._pending: list[_Mark] = []
        self._flusher: asyncio.Task[None] | None = None

    async def mark(self, sql: str, args: tuple[Any, ...]) -> int:
        """Run one UPDATE, committed with the marks other tasks asked for meanwhile; how
        many rows it changed (the caller tells a missing row from one in another status)."""
        mark = _Mark(sql, args, asyncio.get_running_loop().create_future())
        self._pending.append(mark)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="store-marks")
        return await mark.done

    async def drain(self) -> None:
        """Wait until every mark taken so far is written (or failed)."""
        if self._flusher is not None:
            await asyncio.wait([self._flusher])

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                counts = await self._run([(m.sql, m.args) for m in batch])
            except Exception as exc:
                for mark in batch:
                    _settle(mark.done, exc)
                continue
            except BaseException:
                for mark in batch:
                    mark.done.cancel()
                raise
            for mark, count in zip(batch, counts, strict=True):
                _settle(mark.done, count)


def _settle(done: asyncio.Future[int], result: int | Exception) -> None:
    """Resolve a mark's future, unless its caller stopped waiting (cancelled)."""
    if done.done():
        return
    if isinstance(result, Exception):
        done.set_exception(result)
    else:
        done.set_result(result)
