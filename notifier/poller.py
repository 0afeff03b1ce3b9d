"""The poll loop: asks IPS for the active jobs of each company, diffs, commits.

Owns scheduling (interval with jitter, per-company backoff while IPS fails, rounds never
overlap) and the rule that a failed poll changes nothing. Never sends mail: it only fills the
outbox and wakes whoever drains it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from notifier.core.diff import ALL_COMPANIES, DiffRules, Snapshot, diff
from notifier.core.events import Event
from notifier.core.jobs import ActiveJob
from notifier.core.routing import RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.ips.errors import IpsError, IpsFault, IpsPermanentError
from notifier.metrics import Metrics
from notifier.store.protocol import StateStore, StoreError

log = logging.getLogger(__name__)


class ActiveJobSource(Protocol):
    async def get_active_jobs(self, company_handle: str | None = None) -> list[ActiveJob]: ...


@dataclass(slots=True)
class ScopeHealth:
    """What the loop knows of one company's polls; feeds /readyz, STATUS and the backoff."""

    failures: int = 0
    next_due: float = 0.0
    last_success: float | None = None
    last_error: str | None = None
    permanent: bool = False
    refusal: str = ""
    """While IPS refuses the credentials or permissions: e.g. "authenticationFault 10001"."""


@dataclass(slots=True)
class PollHealth:
    scopes: dict[str, ScopeHealth] = field(default_factory=dict)
    store_error: str | None = None
    active_jobs: int = 0

    def last_success(self) -> float | None:
        """Monotonic time of the oldest company's latest success: every company must be fresh."""
        times = [s.last_success for s in self.scopes.values()]
        if not times or any(t is None for t in times):
            return None
        return min(t for t in times if t is not None)

    def refusal(self) -> str:
        """The first refusal by IPS of any company, "" when none."""
        return next((s.refusal for s in self.scopes.values() if s.refusal), "")


class Poller:
    def __init__(
        self,
        source: ActiveJobSource,
        store: StateStore,
        rules: DiffRules,
        *,
        companies: Sequence[str],
        interval: float,
        max_backoff: float,
        metrics: Metrics,
        clock: Callable[[], datetime],
        on_events: Callable[[Sequence[Event]], None] = lambda events: None,
        rng: random.Random | None = None,
        routing: RoutingRules | None = None,
    ) -> None:
        self._source = source
        self._store = store
        self._rules = rules
        self._routing = routing or RoutingRules()
        self._interval = interval
        self._max_backoff = max(max_backoff, interval)
        self._metrics = metrics
        self._clock = clock
        self._on_events = on_events
        self._rng = rng or random.Random()
        self.state = TrackedState()
        scopes = list(companies) or [ALL_COMPANIES]
        self.health = PollHealth(scopes={s: ScopeHealth() for s in scopes})

    async def load(self) -> None:
        self.state = await self._store.load_state()
        self.health.active_jobs = len(self.state.jobs)

    async def observe(
        self, scopes: Sequence[str] | None = None
    ) -> tuple[TrackedState, list[Event], datetime] | None:
        """Poll the given companies (all by default) and diff; None when every poll failed.

        Commits nothing: `poll_round` does, and a dry run only looks.
        """
        scopes = list(self.health.scopes) if scopes is None else list(scopes)
        started = time.monotonic()
        results = await asyncio.gather(*(self._poll_scope(s) for s in scopes))
        self._metrics.observe_poll_duration(time.monotonic() - started)
        polled = {s: jobs for s, jobs in zip(scopes, results, strict=True) if jobs is not None}
        if not polled:
            return None
        now = self._clock()
        state, events = diff(self.state, Snapshot(scopes=polled), now, self._rules)
        return state, events, now

    async def poll_round(self, scopes: Sequence[str] | None = None) -> list[Event]:
        """Poll the given companies (all by default) once; commit what changed."""
        observed = await self.observe(scopes)
        if observed is None:
            return []
        state, events, now = observed
        try:
            await self._store.commit(state, events, plan_all(events, self._routing), now)
        except StoreError as exc:
            # The state stays as last committed: the same changes are found again next round.
            if self.health.store_error is None:
                log.error("cannot record job changes, polling continues without them: %s", exc)
            self.health.store_error = f"store not writable: {exc}"
            raise
        if self.health.store_error is not None:
            log.warning("the store is writable again; recording job changes")
            self.health.store_error = None
        self.state = state
        self.health.active_jobs = len(state.jobs)
        self._metrics.set_active_jobs(len(state.jobs))
        for event in events:
            self._metrics.count_event(event.kind.value)
            log.info(
                "job event %s for %s (%s)", event.kind.value, event.job.name, event.job.job_handle
            )
        if events:
            self._on_events(events)
        return events

    async def run(self, stop: asyncio.Event) -> None:
        """Poll each company when it is due, until `stop` is set."""
        while not stop.is_set():
            now = time.monotonic()
            due = [s for s, h in self.health.scopes.items() if h.next_due <= now]
            if due:
                # A store error is logged once in poll_round; the next round tries again.
                with contextlib.suppress(StoreError):
                    await self.poll_round(due)
                continue
            wake_at = min(h.next_due for h in self.health.scopes.values())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, wake_at - now))

    async def _poll_scope(self, scope: str) -> list[ActiveJob] | None:
        health = self.health.scopes[scope]
        try:
            jobs = await self._source.get_active_jobs(scope or None)
        except IpsError as exc:
            self._record_failure(scope, health, exc)
            return None
        if health.failures:
            log.warning("IPS answers again for company %s", scope or "(all)")
        health.failures = 0
        health.last_error = None
        health.permanent = False
        health.refusal = ""
        health.last_success = time.monotonic()
        health.next_due = health.last_success + self._jittered(self._interval)
        self._metrics.count_poll("ok")
        self._metrics.mark_successful_poll(time.time())
        return jobs

    def _record_failure(self, scope: str, health: ScopeHealth, exc: IpsError) -> None:
        health.failures += 1
        health.permanent = isinstance(exc, IpsPermanentError)
        delay = min(self._interval * 2**health.failures, self._max_backoff)
        health.next_due = time.monotonic() + self._jittered(delay)
        message = str(exc)
        if isinstance(exc, IpsFault) and health.permanent:
            health.refusal = f"{exc.family} {exc.code}"
        if health.permanent:
            self._metrics.count_poll("auth_error")
            if message != health.last_error:
                log.error(
                    "IPS refuses the poll for company %s: %s. Nothing is notified until the "
                    "credentials or permissions in ips.* are fixed; polling again in %.0f s",
                    scope or "(all)",
                    message,
                    delay,
                )
        else:
            self._metrics.count_poll("error")
            log.warning(
                "poll of company %s failed (%d in a row), nothing changes; next try in %.1f s: %s",
                scope or "(all)",
                health.failures,
                delay,
                message,
            )
        health.last_error = message

    def _jittered(self, seconds: float) -> float:
        return seconds * (1.0 + self._rng.uniform(0.0, 0.1))
