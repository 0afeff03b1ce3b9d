"""The diff's promises hold when every poll is committed to a real SQLite file and every
restart reloads the state from it; the outbox then holds exactly the events emitted."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings

from notifier.core.events import Event, EventKind
from notifier.core.routing import RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.store.protocol import DeliveryStatus
from notifier.store.sqlite import SqliteStore
from tests.unit.test_diff_stateful import DiffMachine

EVERY_EVENT = RoutingRules(events=frozenset(EventKind))
"""The submitter hears of every kind, so each event is one pending delivery."""


class StoreBackedHistories(DiffMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="notifier-store-"))
        self.path = self.directory / "notifier.sqlite3"
        self.loop = asyncio.new_event_loop()
        self.store = self.loop.run_until_complete(SqliteStore.open(self.path))

    def committed(self, state: TrackedState, events: list[Event]) -> None:
        planned = plan_all(events, EVERY_EVENT)
        self.loop.run_until_complete(self.store.commit(state, events, planned, self.now))

    def reload(self, state: TrackedState) -> TrackedState:
        self.check_outbox()
        self.loop.run_until_complete(self.store.close())
        self.store = self.loop.run_until_complete(SqliteStore.open(self.path))
        return self.loop.run_until_complete(self.store.load_state())

    def check_outbox(self) -> None:
        listed = self.store.list_deliveries([DeliveryStatus.PENDING], limit=1_000_000)
        ids = [d.event.id for d in self.loop.run_until_complete(listed)]
        assert len(ids) == len(set(ids))
        assert set(ids) == self.emitted

    def teardown(self) -> None:
        try:
            self.check_outbox()
        finally:
            self.loop.run_until_complete(self.store.close())
            self.loop.close()
            shutil.rmtree(self.directory)


StoreBackedHistories.TestCase.settings = settings(
    max_examples=200, stateful_step_count=8, deadline=None
)
TestStoreBackedHistories = StoreBackedHistories.TestCase
