"""The daemon: runs the parts of one notifier process (wiring.py makes them) as one asyncio
process.

Owns the life cycle (start, systemd notifications, signals, a bounded clean stop, pruning,
the status line and readiness) and nothing else: the parts are wiring.py's, polling lives in
poller.py, delivery in delivery/loop.py over the channels (mail/channel.py for email).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import TypeVar

from notifier import systemd
from notifier.config import Config
from notifier.core.routing import ChannelKind
from notifier.http import assess_readiness, start_http
from notifier.looplag import watch_loop_lag
from notifier.mail.templating import warm_up
from notifier.store.open import Leading
from notifier.store.protocol import OWED, DeliveryStatus, StoreError
from notifier.wiring import Parts, open_parts, utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")

SHUTDOWN_DEADLINE = 20.0
"""Seconds that in-flight sends get to finish after SIGTERM; the rest stays pending."""

STATUS_EVERY = 5.0
"""Seconds between STATUS=/outbox gauge refreshes."""

PRUNE_EVERY = 3600.0
"""Seconds between prunings of old sent, skipped and dead deliveries (store.keep_days)."""


class StartupError(Exception):
    """The daemon cannot start as configured (e.g. the HTTP port is taken)."""


class Daemon:
    """`notifier run`: poll, diff, commit and deliver until SIGTERM or SIGINT."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.stop = asyncio.Event()
        self._started = time.monotonic()
        self.http_port: int | None = None

    async def run(self) -> None:
        parts = self.parts
        await asyncio.to_thread(warm_up, parts.config.notify.default_locale)
        listen = parts.config.http.listen
        try:
            http = await start_http(listen, parts.metrics, self.readiness)
        except OSError as exc:
            raise StartupError(
                f"http.listen = {listen!r}: cannot listen there ({exc.strerror or exc}); "
                'choose a free loopback port, or set http.listen = "" to turn HTTP off'
            ) from None
        if http is not None:
            self.http_port = http.port
            log.info("health and metrics on http://%s:%d/", http.host, http.port)
        self._install_signals()
        try:
            async with asyncio.TaskGroup() as group:
                polling = group.create_task(self._poll_while_leader(), name="poller")
                sending = group.create_task(
                    parts.delivery.run(self.stop, parts.wake, interval=1.0), name="delivery"
                )
                group.create_task(self._supervise(), name="supervisor")
                group.create_task(
                    watch_loop_lag(self.stop, parts.metrics.observe_loop_lag), name="loop lag"
                )
                systemd.ready(await self.status_line())
                log.info("notifier running: %s", await self.status_line())
                await self.stop.wait()
                systemd.stopping("stopping: finishing in-flight emails")
                polling.cancel()
                await self._drain(sending)
        finally:
            if http is not None:
                await http.close()
        log.info("notifier stopped; undelivered emails stay pending for the next start")

    async def _poll_while_leader(self) -> None:
        """Poll during each term this replica leads, from the state as the term found it;
        stop at once when the term ends (another replica polls then)."""
        parts = self.parts
        while not self.stop.is_set():
            term = await _first(parts.leading.wait_until_leader(), self.stop.wait())
            if term is None:
                return
            parts.metrics.set_leader(parts.leading.gauge)
            await parts.poller.load()  # what the former leader committed
            parts.poller.health.store_error = None
            log.info("polling IPS (leadership term %d)", term)
            this_term = asyncio.Event()
            polling = asyncio.create_task(parts.poller.run(this_term), name="poll term")
            try:
                await _first(parts.leading.wait_until_lost(), self.stop.wait(), polling)
            finally:
                this_term.set()
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling
            parts.metrics.set_leader(parts.leading.gauge)

    async def _drain(self, sending: asyncio.Task[None]) -> None:
        parts = self.parts
        parts.wake.set()
        done, _ = await asyncio.wait({sending}, timeout=SHUTDOWN_DEADLINE)
        if not done:
            log.warning(
                "in-flight emails did not finish within %.0f s; they stay pending",
                SHUTDOWN_DEADLINE,
            )
            sending.cancel()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.stop.set()

    async def _supervise(self) -> None:
        """Watchdog pings from the loop itself (a stuck loop stops pinging), STATUS, gauges."""
        interval = systemd.watchdog_interval()
        period = min(STATUS_EVERY, interval / 2) if interval else STATUS_EVERY
        next_prune = time.monotonic()
        while not self.stop.is_set():
            systemd.watchdog()
            with contextlib.suppress(StoreError):
                systemd.status(await self.status_line())
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY
                await self._prune()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=period)

    async def _prune(self) -> None:
        days = self.parts.config.store.keep_days
        try:
            removed = await self.parts.store.prune(utc_now() - timedelta(days=days))
        except StoreError as exc:
            log.warning("could not prune old deliveries (will try again): %s", exc)
            return
        if removed:
            log.info(
                "pruned %d sent, skipped or dead deliveries older than %d days (store.keep_days)",
                removed,
                days,
            )

    async def status_line(self) -> str:
        parts = self.parts
        counts = await parts.store.counts()
        owed = {
            channel.value: sum(counts.get((channel, status), 0) for status in OWED)
            for channel in ChannelKind
        }
        pending = sum(owed.values())
        dead = sum(counts.get((channel, DeliveryStatus.DEAD), 0) for channel in ChannelKind)
        parts.metrics.set_outbox(owed, dead)
        now = utc_now()
        oldest = await parts.store.oldest_owed()
        parts.metrics.set_oldest_pending(
            {channel.value: (now - since).total_seconds() for channel, since in oldest.items()}
        )
        health = parts.poller.health
        companies = len(parts.config.ips.companies) or "all"
        line = (
            f"companies: {companies}; active jobs: {health.active_jobs}; "
            f"outbox: {pending} pending, {dead} dead"
        )
        if parts.shared:
            parts.metrics.set_leader(parts.leading.gauge)
            line = f"{line}; role: {parts.leading.role.value}"
        problem = health.store_error or health.refusal()
        return f"{line}; {problem}" if problem else line

    async def readiness(self) -> tuple[bool, str]:
        parts = self.parts
        store_problem = parts.poller.health.store_error or ""
        if not store_problem:
            try:
                await parts.store.check_writable()
            except StoreError as exc:
                store_problem = str(exc)
        if parts.shared and not parts.leading.is_leader:
            return _standby_readiness(parts.leading, store_problem)
        ready, reason = assess_readiness(
            now=time.monotonic(),
            started_at=self._started,
            last_successful_poll=parts.poller.health.last_success(),
            poll_interval=parts.config.poll.interval,
            auth_failure=parts.poller.health.refusal(),
            store_problem=store_problem,
            outages=[outage.describe(utc_now()) for outage in parts.delivery.outages()],
        )
        return (ready, f"leader: {reason}") if parts.shared else (ready, reason)


def _standby_readiness(leading: Leading, store_problem: str) -> tuple[bool, str]:
    """A standby is ready while it can deliver and stands by to poll: the store is
    writable and its leadership connection is up."""
    role = leading.role.value
    if store_problem:
        return False, f"{role}: store not writable: {store_problem}"
    if leading.role.value != "standby":
        return False, f"{role}: no leadership connection to the store; delivering only"
    return True, f"{role}: another replica polls; this one delivers and stands by"


async def _first(wanted: Awaitable[T], *others: Awaitable[object]) -> T | None:
    """`wanted`'s result if it is done first, else None (one of `others` was); whatever is
    not done is cancelled."""
    first = asyncio.ensure_future(wanted)
    rest = [asyncio.ensure_future(other) for other in others]
    try:
        await asyncio.wait([first, *rest], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (first, *rest):
            task.cancel()
    return first.result() if first.done() and not first.cancelled() else None


async def run(config: Config) -> int:
    """`notifier run`. Returns the exit status."""
    async with open_parts(config) as parts:
        await Daemon(parts).run()
    return 0


async def once(config: Config) -> int:
    """`notifier once`: one poll, diff and delivery round. 1 when no company could be polled."""
    async with open_parts(config) as parts:
        parts.poller.one_shot = True
        if not await _lead_for_once(parts):
            return 1
        await parts.poller.load()
        observed_any = await _poll_once(parts)
        if not observed_any:
            log.error("once: no company could be polled, so nothing was recorded; exit status 1")
        report = await parts.delivery.run_once(utc_now())
        log.info(
            "delivery round: %d sent, %d to retry, %d dead, %d skipped, %d held for a digest,"
            " %d awaiting the job log",
            report.sent,
            report.retry,
            report.dead,
            report.skipped,
            report.held,
            report.waiting,
        )
    return 0 if observed_any else 1


async def _lead_for_once(parts: Parts) -> bool:
    """On a shared store `once` polls only as the leader: it waits for the lock a while."""
    within = 3 * parts.config.store.leader_lease
    try:
        await asyncio.wait_for(parts.leading.wait_until_leader(), timeout=within)
    except TimeoutError:
        log.error(
            "once: another replica leads on the shared store for %.0f s; nothing was polled "
            "(it polls already); exit status 1",
            within,
        )
        return False
    return True


async def _poll_once(parts: Parts) -> bool:
    scopes: Sequence[str] = list(parts.poller.health.scopes)
    await parts.poller.poll_round(scopes)
    return any(h.last_success is not None for h in parts.poller.health.scopes.values())
