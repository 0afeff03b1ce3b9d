"""One delivery round's shared state: each channel's send and build gates, the results it
counts (and reports to the metrics hook), and its report.

Owns the bookkeeping of a round. Never sends, never touches the store: the loop (loop.py)
does both.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from notifier.core.routing import ChannelKind
from notifier.delivery.channel import Channel


class DeliveryResult(StrEnum):
    """What a round did with a delivery (the `result` label of the delivery metrics)."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"
    HELD = "held"


ResultHook = Callable[[ChannelKind, DeliveryResult, int], None]
"""Called with the channel, the result and how many deliveries one message concerned."""


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """One round in numbers. `waiting`: finished events still waiting for their outcome.
    `more`: the round was full or made deliveries ready, so more may be due right now."""

    sent: int = 0
    retry: int = 0
    dead: int = 0
    skipped: int = 0
    held: int = 0
    waiting: int = 0
    rescheduled: int = 0
    more: bool = False


@dataclass(frozen=True, slots=True)
class Gates:
    """A channel's limits in one round: messages on the wire, and messages built ahead."""

    sending: asyncio.Semaphore
    building: asyncio.Semaphore


@dataclass(slots=True)
class Round:
    """What one round shares between its tasks, and what it did."""

    stop: asyncio.Event | None
    on_result: ResultHook | None
    results: dict[DeliveryResult, int] = field(default_factory=lambda: defaultdict(int))
    waiting: int = 0
    rescheduled: int = 0
    completed: bool = False
    _gates: dict[ChannelKind, Gates] = field(default_factory=dict)

    def gates(self, channel: Channel[Any]) -> Gates:
        gates = self._gates.get(channel.kind)
        if gates is None:
            size = max(1, channel.concurrency)
            gates = Gates(asyncio.Semaphore(size), asyncio.Semaphore(2 * size))
            self._gates[channel.kind] = gates
        return gates

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def count(self, channel: ChannelKind, result: DeliveryResult, n: int = 1) -> None:
        self.results[result] += n
        if self.on_result is not None:
            self.on_result(channel, result, n)

    def report(self, *, more: bool) -> DispatchReport:
        return DispatchReport(
            sent=self.results[DeliveryResult.SENT],
            retry=self.results[DeliveryResult.RETRY],
            dead=self.results[DeliveryResult.DEAD],
            skipped=self.results[DeliveryResult.SKIPPED],
            held=self.results[DeliveryResult.HELD],
            waiting=self.waiting,
            rescheduled=self.rescheduled,
            more=more,
        )
