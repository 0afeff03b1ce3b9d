"""The delivery loop: drains the outbox over every channel, one round at a time.

A round: resolve the outcome of `finished` events still waiting for it (their deliveries
become ready; the store never returns the others as due), release the digests that are due,
take the ready deliveries that are due, hold those whose recipient is over the digest
threshold, and deliver the rest with bounded concurrency per channel. Each result is
recorded: sent (with the channel's receipt), retry later (the retry policy's time, or the
far end's Retry-After), dead (given up, or still failing at the maximum age), skipped (the
recipient cannot be addressed). The first success on a channel after it failed as a whole
(or for the first time since start) makes every pending delivery there due at once, so a
backlog drains promptly instead of each waiting out its backoff. Outages are told by
delivery/outage.py: once when they begin, then a reminder every few minutes, and when they
end; a retry of one delivery is a DEBUG line, a sent message one INFO line with the
structured fields of `notifier.logs.delivery_fields`.

Channel-neutral: never builds or sends a message itself (channels do), never decides what an
event is (core/ does) or who hears of it (routing did, at commit), never drops a delivery
without recording why.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from notifier.core.events import Completion, Event
from notifier.core.routing import ChannelKind
from notifier.delivery.channel import Channel, ChannelError, GiveUp, Item, RetryLater, Unaddressable
from notifier.delivery.completions import without_log
from notifier.delivery.hold import NO_DIGESTS, DigestSettings, HoldPolicy, hold_until
from notifier.delivery.lines import fields, log_sent
from notifier.delivery.outage import FarEndHook, Outage, OutageTracker, Scope
from notifier.delivery.retry import RetryPolicy, span
from notifier.delivery.round import DeliveryResult, DispatchReport, ResultHook, Round
from notifier.store.protocol import Delivery, DeliveryStore

log = logging.getLogger(__name__)


class CompletionResolver(Protocol):
    """Completions known now for these `finished` events, by event id."""

    async def __call__(
        self, events: Sequence[Event], now: datetime, grace: timedelta
    ) -> dict[str, Completion]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeliveryLoop:
    """Sends what the outbox owes. `run_once` for one round, `run` for the daemon's loop.

    `completions` asks IPS for the outcomes of finished jobs, while `resolves_outcomes()`
    says so (on a shared store only the replica that polls asks; the others deliver what it
    made ready)."""

    def __init__(
        self,
        store: DeliveryStore,
        channels: Iterable[Channel[Any]],
        *,
        completions: CompletionResolver | None = None,
        resolves_outcomes: Callable[[], bool] = lambda: True,
        grace: timedelta = timedelta(minutes=10),
        ask_every: float = 30.0,
        retry: RetryPolicy | None = None,
        digest: DigestSettings | None = None,
        hold_policy: HoldPolicy = hold_until,
        batch: int = 100,
        clock: Callable[[], datetime] = utc_now,
        on_result: ResultHook | None = None,
        on_far_end: FarEndHook | None = None,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._store = store
        self._channels = {channel.kind: channel for channel in channels}
        self._completions = completions
        self._resolves_outcomes = resolves_outcomes
        self._grace = grace
        self._ask_every = timedelta(seconds=ask_every)
        self._asked: set[str] = set()
        self._next_ask: datetime | None = None
        self._retry = retry or RetryPolicy()
        self._digest = digest or NO_DIGESTS
        self._hold_policy = hold_policy
        self._batch = batch
        self._clock = clock
        self._on_result = on_result
        # At start the far end's recent past is unknown (a restart during an outage is
        # common), so a first success is "back" too.
        self._outages = OutageTracker(on_change=on_far_end)

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry

    def outages(self) -> list[Outage]:
        """The far ends failing as a whole now (until a message goes through there)."""
        return self._outages.current()

    # --- the daemon's loop ------------------------------------------------------------

    async def run(
        self, stop: asyncio.Event, wake: asyncio.Event | None = None, interval: float = 1.0
    ) -> None:
        """Rounds until `stop` is set: every `interval` seconds, when `wake` is set, and at
        once while deliveries remain due. In-flight deliveries finish after `stop`; those
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
        """One round at `now`, and a second for the deliveries its outcomes made ready."""
        first = await self._round(now, None)
        if not first.more:
            return first
        second = await self._round(self._clock(), None)
        return DispatchReport(
            sent=first.sent + second.sent,
            retry=first.retry + second.retry,
            dead=first.dead + second.dead,
            skipped=first.skipped + second.skipped,
            held=first.held + second.held,
            waiting=second.waiting,
            rescheduled=first.rescheduled + second.rescheduled,
            more=second.more,
        )

    # --- one round --------------------------------------------------------------------

    async def _round(self, now: datetime, stop: asyncio.Event | None) -> DispatchReport:
        current = Round(stop, self._on_result)
        resolving = self._resolves_outcomes()
        # A replica that leaves the outcomes to the leader need not read what awaits them.
        awaiting = await self._store.awaiting_completion() if resolving else []
        digests = await self._store.due_digests(now, self._batch)
        due = await self._store.due_deliveries(now, self._batch)
        held_groups = _by_recipient(digests)
        sending = await self._hold_bursts(current, due, now)
        async with asyncio.TaskGroup() as group:
            # Job logs are fetched alongside the sends, so a slow IPS delays only the
            # finished jobs waiting for it.
            if awaiting and self._time_to_ask(awaiting, now):
                group.create_task(self._complete(current, awaiting, now))
            else:
                current.waiting = len(awaiting)
            for held in held_groups:
                group.create_task(self._deliver_digest(current, held))
            for delivery in sending:
                group.create_task(self._deliver_in(current, [delivery]))
        full = len(due) == self._batch or len(held_groups) == self._batch
        return current.report(more=full or current.completed)

    def _time_to_ask(self, awaiting: list[Event], now: datetime) -> bool:
        """Ask for job logs when a finished job is new or its grace period is over, else
        every `ask_every` seconds: rounds can be a second apart, and IPS should not be asked
        that often."""
        if self._completions is None:
            return True
        fresh = any(event.id not in self._asked for event in awaiting)
        overdue = any(now - event.at >= self._grace for event in awaiting)
        if not (fresh or overdue) and self._next_ask is not None and now < self._next_ask:
            return False
        self._asked = {event.id for event in awaiting}
        self._next_ask = now + self._ask_every
        return True

    async def _complete(self, current: Round, awaiting: list[Event], now: datetime) -> None:
        if self._completions is not None:
            resolved = await self._completions(awaiting, now, self._grace)
        else:  # no job log source: say at once what is known without one
            resolved = {event.id: without_log(event, now) for event in awaiting}
        current.waiting = len(awaiting) - len(resolved)
        if resolved:
            await self._store.set_completions(resolved, self._clock())
            current.completed = True

    async def _hold_bursts(
        self, current: Round, due: list[Delivery], now: datetime
    ) -> list[Delivery]:
        """The deliveries to send now; the others are held for their recipient's digest."""
        if not self._digest.enabled or not due:
            return due
        since = now - self._digest.window
        history = await self._store.burst_history([d.recipient for d in due], since)
        sends = {key: list(h.sends) for key, h in history.items()}
        held = {key: h.held_until for key, h in history.items()}
        sending: list[Delivery] = []
        holds: dict[datetime, list[Delivery]] = defaultdict(list)
        for delivery in due:
            key = delivery.recipient.key
            until = held.get(key) or self._hold_policy(sends.get(key, []), now, self._digest)
            if until is not None and until > now:
                holds[until].append(delivery)
                held[key] = until
            else:
                sends.setdefault(key, []).append(now)
                sending.append(delivery)
        for until, waiting in holds.items():
            await self._store.hold([d.id for d in waiting], until, now)
            for delivery in waiting:
                log.info(
                    "delivery %d held for a digest until %s",
                    delivery.id,
                    until,
                    extra=fields(delivery, DeliveryResult.HELD),
                )
                current.count(delivery.channel, DeliveryResult.HELD)
        return sending

    async def _deliver_digest(self, current: Round, held: list[Delivery]) -> None:
        """One recipient's held deliveries as one digest, which also lists what this
        recipient was sent one by one since its window began (marked as already sent), so
        that the digest is the whole burst. Only the held deliveries are marked sent by it."""
        since = min(d.next_attempt_at for d in held) - self._digest.window
        held_ids = {d.event.id for d in held}
        earlier = [
            d
            for d in await self._store.sent_singly(held[0].recipient, since)
            if d.event.id not in held_ids
        ]
        await self._deliver_in(current, held, earlier)

    async def _deliver_in(
        self, current: Round, deliveries: list[Delivery], earlier: Sequence[Delivery] = ()
    ) -> None:
        # Messages are built ahead of the send slots (at most `concurrency` more), so a
        # free slot has its next message ready. Only deliveries on the wire hold the send
        # slots, and a result is recorded before its slot is released: at most
        # `concurrency` messages are ever accepted but not yet recorded, which bounds the
        # repeats a crash can cause.
        first = deliveries[0]
        channel = self._channels.get(first.channel)
        if channel is None:
            reason = f"no {first.channel.value} channel is configured"
            await self._failed(current, deliveries, RetryLater(reason))
            return
        gates = current.gates(channel)
        async with gates.building:
            if current.stopping():
                return  # shutting down: not started, so it stays as it was
            try:
                message = _prepare(channel, deliveries, earlier)
            except Unaddressable as exc:
                for delivery in deliveries:
                    await self._skip(current, delivery, exc.reason)
                return
            except GiveUp as exc:
                await self._dead(current, deliveries, exc.reason)
                return
            except Exception as exc:
                # A message that cannot be built will not build next time either.
                log.exception("delivery %d: cannot build the message", first.id)
                await self._dead(current, deliveries, f"cannot build the message: {exc}")
                return
            async with gates.sending:
                if current.stopping():
                    return
                if not self._store.may_send([d.id for d in deliveries]):
                    # Its claim may have run out (the shared store did not answer): whoever
                    # claims it next sends it, this process included.
                    log.debug("delivery %d: not sent, its claim may have run out", first.id)
                    return
                await self._deliver(current, channel, deliveries, message)

    async def _deliver(
        self, current: Round, channel: Channel[Any], deliveries: list[Delivery], message: Any
    ) -> None:
        first = deliveries[0]
        scope = _scope(first)
        try:
            receipt = await channel.deliver(message)
        except RetryLater as exc:
            if exc.outage:
                where = exc.where or _where(scope)
                self._outages.failed(scope, where, exc.reason, self._clock())
            await self._failed(current, deliveries, exc)
            return
        except ChannelError as exc:
            await self._dead(current, deliveries, exc.reason)
            return
        now = self._clock()
        await self._store.mark_sent([d.id for d in deliveries], receipt, now)
        log_sent(deliveries, receipt)
        current.count(first.channel, DeliveryResult.SENT, len(deliveries))
        if self._outages.succeeded(scope, now):
            due = await self._store.reschedule_pending(self._clock(), *scope)
            current.rescheduled += due
            if due:
                log.info("%s accepts deliveries: %d waiting ones due now", _where(scope), due)

    # --- recording --------------------------------------------------------------------

    async def _skip(self, current: Round, delivery: Delivery, reason: str) -> None:
        log.info(
            "delivery %d skipped: %s",
            delivery.id,
            reason,
            extra=fields(delivery, DeliveryResult.SKIPPED),
        )
        await self._store.mark_skipped(delivery.id, reason, self._clock())
        current.count(delivery.channel, DeliveryResult.SKIPPED)

    async def _dead(self, current: Round, deliveries: list[Delivery], reason: str) -> None:
        log.warning(
            "deliveries %s are dead: %s",
            [d.id for d in deliveries],
            reason,
            extra=fields(deliveries[0], DeliveryResult.DEAD),
        )
        await self._store.mark_dead([d.id for d in deliveries], reason, self._clock())
        current.count(deliveries[0].channel, DeliveryResult.DEAD, len(deliveries))

    async def _failed(self, current: Round, deliveries: list[Delivery], exc: RetryLater) -> None:
        now = self._clock()
        since = min(d.pending_since or d.created_at for d in deliveries)
        if self._retry.too_old(since, now):
            reason = f"still failing after {span(now - since)}: {exc.reason}"
            await self._dead(current, deliveries, reason)
            return
        attempts = max(d.attempts for d in deliveries)
        at = self._retry.next_attempt(attempts, now, exc.retry_after)
        ids = [d.id for d in deliveries]
        log.debug("deliveries %s retried at %s: %s", ids, at.isoformat(), exc.reason)
        await self._store.mark_retry(ids, exc.reason, at, now)
        current.count(deliveries[0].channel, DeliveryResult.RETRY, len(deliveries))


def _prepare(
    channel: Channel[Any], deliveries: list[Delivery], earlier: Sequence[Delivery] = ()
) -> Any:
    """The message of these deliveries: one event's, or a digest of them together with
    the `earlier` ones (already sent singly, listed as such)."""
    recipient = deliveries[0].recipient
    if len(deliveries) == 1 and not earlier:
        return channel.prepare(recipient, Item(deliveries[0].event, deliveries[0].completion))
    items = [Item(d.event, d.completion, already_sent=True) for d in earlier]
    items += [Item(d.event, d.completion) for d in deliveries]
    items.sort(key=lambda item: item.event.at)
    return channel.prepare_digest(recipient, items)


def _by_recipient(held: list[Delivery]) -> list[list[Delivery]]:
    groups: dict[tuple[ChannelKind, str], list[Delivery]] = defaultdict(list)
    for delivery in held:
        groups[delivery.recipient.key].append(delivery)
    return list(groups.values())


def _scope(delivery: Delivery) -> Scope:
    """Where an outage and its end apply: email goes through one mail server for every
    recipient; each webhook is its own endpoint."""
    if delivery.channel is ChannelKind.EMAIL:
        return delivery.channel, None
    return delivery.channel, delivery.recipient.address


def _where(scope: Scope) -> str:
    channel, name = scope
    return "the mail server" if name is None else f"{channel.value} {name}"


def _log_round_failure(exc: Exception, previous: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if text != previous:
        log.error("delivery round failed; deliveries stay pending", exc_info=exc)
    else:
        log.debug("delivery round failed again: %s", text)
    return text


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
