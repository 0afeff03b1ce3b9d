"""An in-memory implementation of the store's tracked-state half, for fast tests of logic.

Holds its rows in a `MemoryRows` that outlives one store object, so that "reopening" finds
what was committed, as with a file or a database. Never the only store a behaviour is
tested on: the contract suite (tests/contract) runs the same tests on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from notifier.core.events import Event
from notifier.core.routing import ChannelKind, PlannedDelivery
from notifier.core.state import TrackedState


@dataclass(slots=True)
class MemoryRows:
    state: TrackedState = field(default_factory=TrackedState)
    events: dict[str, Event] = field(default_factory=dict)
    outbox: dict[tuple[str, ChannelKind, str], PlannedDelivery] = field(default_factory=dict)


class MemoryStore:
    def __init__(self, rows: MemoryRows) -> None:
        self._rows = rows

    async def load_state(self) -> TrackedState:
        return self._rows.state

    async def commit(
        self,
        state: TrackedState,
        events: Sequence[Event],
        deliveries: Sequence[PlannedDelivery],
        now: datetime,
    ) -> None:
        for event in events:
            self._rows.events.setdefault(event.id, event)
        for planned in deliveries:
            self._rows.outbox.setdefault((planned.event_id, *planned.recipient.key), planned)
        self._rows.state = state

    async def close(self) -> None:
        pass
