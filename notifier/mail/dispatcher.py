"""The dispatcher: drains the outbox, one round at a time, and records what became of each email.

A round: resolve the outcome of pending `finished` deliveries (they are not sent before it
is known), take the due deliveries, route them (skip with the reason), check the recipient
(invalid: skip with the reason), build the email, send with bounded concurrency, and record
the result: sent (after the server's 250, with the Message-ID), retry later (temporary
failure: exponential backoff with full jitter, capped), dead (permanent failure, or still
failing when the delivery reaches its maximum age). When a send succeeds after the server
as a whole was unavailable (or for the first time since start), every pending delivery is
made due at once, so the backlog drains promptly instead of each waiting out its backoff.

Never renders templates or speaks SMTP itself (the build callable and the mailer do), never
decides what an event is (core/ does), never drops a delivery without recording why.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.outcome import resolve_completion
from notifier.core.routing import RoutingRules, route
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.message import OutgoingEmail
from notifier.mail.sender import (
    PermanentDeliveryError,
    ServerUnavailableError,
    TemporaryDeliveryError,
)
from notifier.store.protocol import Delivery, Store

log = logging.getLogger(__name__)

BASE_BACKOFF = 2.0
"""Seconds: the cap of the first retry's delay; it doubles with every attempt."""


class DeliveryResult(StrEnum):
    """What one round did with one delivery (the `result` label of notifier_emails_total)."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"


class MailSender(Protocol):
    async def send(
        self, message: OutgoingEmail, *, recipients: Sequence[str] | None = None
    ) -> str: ...


class CompletionResolver(Protocol):
    """Completions known now for these `finished` deliveries, by delivery id."""

    async def __call__(
        self, deliveries: Sequence[Delivery], now: datetime, grace: timedelta
    ) -> dict[int, Completion]: ...


BuildMessage = Callable[[Event, Completion | None], OutgoingEmail]


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """One round in numbers. `waiting`: finished deliveries still waiting for their outcome.
    `more`: the round was full, so more deliveries may be due right now."""

    sent: int = 0
    retry: int = 0
    dead: int = 0
    skipped: int = 0
    waiting: int = 0
    rescheduled: int = 0
    more: bool = False


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Sends what the outbox owes. `run_once` for one round, `run` for the daemon's loop."""

    def __init__(
        self,
        store: Store,
        mailer: MailSender,
        build: BuildMessage,
        rules: RoutingRules,
        *,
        completions: CompletionResolver | None = None,
        grace: timedelta = timedelta(minutes=10),
        ask_every: float = 30.0,
        max_backoff: float = 600.0,
        max_age: float = 172_800.0,
        concurrency: int = 4,
        batch: int = 100,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        on_result: Callable[[DeliveryResult], None] | None = None,
    ) -> None:
        if concurrency < 1 or batch < 1:
            raise ValueError("concurrency and batch must be at least 1")
        self._store = store
        self._mailer = mailer
        self._build = build
        self._rules = rules
        self._completions = completions
        self._grace = grace
        self._ask_every = timedelta(seconds=ask_every)
        self._asked: set[int] = set()
        self._next_ask: datetime | None = None
        self._max_backoff = max_backoff
        self._max_age = timedelta(seconds=max_age)
        self._concurrency = concurrency
        self._batch = batch
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_result = on_result
        # At start the mail server's recent past is unknown (a restart during an outage is
        # common), so the first success also makes the backlog due.
        self._server_down = True

    # --- the daemon's loop ------------------------------------------------------------

    async def run(
        self, stop: asyncio.Event, wake: asyncio.Event | None = None, interval: float = 1.0
    ) -> None:
        """Rounds until `stop` is set: every `interval` seconds, when `wake` is set, and at
        once while deliveries remain due. In-flight sends finish after `stop`; deliveries
        not yet started stay pending for the next start."""
        failing: str | None = None
        while not stop.is_set():
            try:
                report = await self._round(self._clock(), stop)
            except Exception as exc:
                # A failed round (store trouble, a bug) must not end the loop: its deliveries
                # stay pending for the next round. Logged in full once, not every interval.
                failing = _log_round_failure(exc, failing)
                report = DispatchReport()
            else:
                if failing is not None:
                    log.info("delivery rounds work again")
                    failing = None
            if (report.more or report.rescheduled) and not stop.is_set():
                await asyncio.sleep(0)  # let others run between back-to-back rounds
                continue
            await _pause(stop, wake, interval)

    async def run_once(self, now: datetime) -> DispatchReport:
        """One round: the deliveries due at `now`."""
        return await self._round(now, None)

    # --- one round --------------------------------------------------------------------

    async def _round(self, now: datetime, stop: asyncio.Event | None) -> DispatchReport:
        current = _Round(
            stop, asyncio.Semaphore(self._concurrency), asyncio.Semaphore(2 * self._concurrency)
        )
        awaiting = await self._awaiting_outcome(current)
        due = await self._store.due_deliveries(now, self._batch + len(awaiting))
        ready = [d for d in due if not _awaits_completion(d)][: self._batch]
        async with asyncio.TaskGroup() as group:
            # Job logs are fetched alongside the sends, so a slow IPS delays only the
            # finished jobs waiting for it.
            if awaiting and self._time_to_ask(awaiting, now):
                group.create_task(self._complete_and_deliver(current, awaiting, now))
            else:
                current.waiting = len(awaiting)
            for delivery in ready:
                group.create_task(self._deliver_in(current, delivery))
        return current.report(more=len(ready) == self._batch)

    async def _awaiting_outcome(self, current: _Round) -> list[Delivery]:
        """The finished deliveries to be mailed once their outcome is known.

        Those that will not be mailed anyway are skipped now, without asking IPS.
        """
        wanted: list[Delivery] = []
        for delivery in await self._store.awaiting_completion():
            recipient = self._recipient(delivery.event)
            if isinstance(recipient, _Skip):
                current.results.append(await self._skip(delivery, recipient.reason))
            else:
                wanted.append(delivery)
        return wanted

    def _time_to_ask(self, awaiting: list[Delivery], now: datetime) -> bool:
        """Ask for job logs when a finished job is new or its grace period is over, else
        every `ask_every` seconds: rounds can be a second apart, and IPS should not be asked
        that often."""
        if self._completions is None:
            return True
        fresh = any(delivery.id not in self._asked for delivery in awaiting)
        overdue = any(now - delivery.event.at >= self._grace for delivery in awaiting)
        if not (fresh or overdue) and self._next_ask is not None and now < self._next_ask:
            return False
        self._asked = {delivery.id for delivery in awaiting}
        self._next_ask = now + self._ask_every
        return True

    async def _complete_and_deliver(
        self, current: _Round, awaiting: list[Delivery], now: datetime
    ) -> None:
        resolved = await self._resolve(awaiting, now)
        current.waiting = len(awaiting) - len(resolved)
        if not resolved:
            return
        await self._store.set_completions(resolved)
        async with asyncio.TaskGroup() as group:
            for delivery in awaiting:
                completion = resolved.get(delivery.id)
                if completion is not None:
                    completed = replace(delivery, completion=completion)
                    group.create_task(self._deliver_in(current, completed))

    async def _resolve(self, deliveries: list[Delivery], now: datetime) -> dict[int, Completion]:
        if self._completions is not None:
            return await self._completions(deliveries, now, self._grace)
        # No job log source: say at once what is known without one.
        return {d.id: _without_log(d.event, now) for d in deliveries}

    async def _deliver_in(self, current: _Round, delivery: Delivery) -> None:
        # Emails are built ahead of the send slots (at most `concurrency` more), so a
        # connection that comes free has its next email ready instead of waiting for it
        # to be rendered. Only sends hold the send slots, and a delivery is marked sent
        # before its slot is released: at most `concurrency` emails are ever accepted by
        # the server but not yet recorded, which bounds the duplicates a crash can cause.
        async with current.building:
            if current.stop is not None and current.stop.is_set():
                return  # shutting down: not started, so it stays pending as it was
            prepared = await self._prepare(delivery)
            if isinstance(prepared, DeliveryResult):
                current.results.append(prepared)
                return
            async with current.semaphore:
                if current.stop is not None and current.stop.is_set():
                    return
                current.results.append(await self._send(current, delivery, *prepared))

    async def _prepare(self, delivery: Delivery) -> tuple[OutgoingEmail, str] | DeliveryResult:
        """The email and its envelope recipient, or what became of a delivery not mailed."""
        event = delivery.event
        recipient = self._recipient(event)
        if isinstance(recipient, _Skip):
            return await self._skip(delivery, recipient.reason)
        try:
            return self._build(event, delivery.completion), recipient
        except Exception as exc:
            # A message that cannot be built will not build next time either.
            log.exception("delivery %d: cannot build the email for %s", delivery.id, event.kind)
            return await self._dead(delivery, f"cannot build the email: {exc}")

    async def _send(
        self, current: _Round, delivery: Delivery, message: OutgoingEmail, recipient: str
    ) -> DeliveryResult:
        try:
            reply = await self._mailer.send(message, recipients=[recipient])
        except PermanentDeliveryError as exc:
            return await self._dead(delivery, exc.reason)
        except TemporaryDeliveryError as exc:
            self._server_down = self._server_down or isinstance(exc, ServerUnavailableError)
            return await self._retry(delivery, exc.reason)
        log.debug("delivery %d sent: %s", delivery.id, reply)
        await self._store.mark_sent(delivery.id, message.message_id, self._clock())
        if self._server_down:
            self._server_down = False
            due = await self._store.reschedule_pending(self._clock())
            current.rescheduled += due
            if due:
                log.info("the mail server accepts mail: %d waiting deliveries due now", due)
        return self._count(DeliveryResult.SENT)

    def _recipient(self, event: Event) -> str | _Skip:
        """The envelope address to mail this event to, or why it is not mailed."""
        decision = route(event, self._rules)
        if not decision.send:
            return _Skip(decision.reason)
        try:
            return validate_address(event.job.submit_user_email)
        except InvalidAddress as exc:
            return _Skip(f"invalid recipient address: {exc.reason}")

    # --- recording --------------------------------------------------------------------

    async def _skip(self, delivery: Delivery, reason: str) -> DeliveryResult:
        log.info("delivery %d skipped: %s", delivery.id, reason)
        await self._store.mark_skipped(delivery.id, reason, self._clock())
        return self._count(DeliveryResult.SKIPPED)

    async def _dead(self, delivery: Delivery, reason: str) -> DeliveryResult:
        log.warning("delivery %d is dead: %s", delivery.id, reason)
        await self._store.mark_dead(delivery.id, reason, self._clock())
        return self._count(DeliveryResult.DEAD)

    async def _retry(self, delivery: Delivery, reason: str) -> DeliveryResult:
        now = self._clock()
        age = now - (delivery.pending_since or delivery.created_at)
        if age >= self._max_age:
            return await self._dead(delivery, f"still failing after {_span(age)}: {reason}")
        delay = self.backoff(delivery.attempts)
        log.info("delivery %d will be retried in %.0fs: %s", delivery.id, delay, reason)
        await self._store.mark_retry(delivery.id, reason, now + timedelta(seconds=delay), now)
        return self._count(DeliveryResult.RETRY)

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: full jitter, capped."""
        ceiling = min(self._max_backoff, BASE_BACKOFF * 2 ** min(attempts, 32))
        return self._rng.uniform(0.0, ceiling)

    def _count(self, result: DeliveryResult) -> DeliveryResult:
        if self._on_result is not None:
            self._on_result(result)
        return result


@dataclass(frozen=True, slots=True)
class _Skip:
    reason: str


@dataclass(slots=True)
class _Round:
    """What one round shares between its tasks, and what it did."""

    stop: asyncio.Event | None
    semaphore: asyncio.Semaphore
    building: asyncio.Semaphore
    results: list[DeliveryResult] = field(default_factory=list)
    waiting: int = 0
    rescheduled: int = 0

    def report(self, *, more: bool) -> DispatchReport:
        return DispatchReport(
            sent=self.results.count(DeliveryResult.SENT),
            retry=self.results.count(DeliveryResult.RETRY),
            dead=self.results.count(DeliveryResult.DEAD),
            skipped=self.results.count(DeliveryResult.SKIPPED),
            waiting=self.waiting,
            rescheduled=self.rescheduled,
            more=more,
        )


def _log_round_failure(exc: Exception, previous: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if text != previous:
        log.error("delivery round failed; deliveries stay pending", exc_info=exc)
    else:
        log.debug("delivery round failed again: %s", text)
    return text


def _awaits_completion(delivery: Delivery) -> bool:
    return delivery.event.kind is EventKind.FINISHED and delivery.completion is None


def _without_log(event: Event, now: datetime) -> Completion:
    known = resolve_completion(event, [], now, timedelta(0))
    return known if known is not None else Completion(outcome=Outcome.UNKNOWN)


def _span(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{age.total_seconds():.0f} s"


async def _pause(stop: asyncio.Event, wake: asyncio.Event | None, interval: float) -> None:
    """Wait for `interval` seconds, or less when `stop` or `wake` is set."""
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
    if wake is not None:
        wake.clear()
