"""The delivery loop and the email channel over a real SQLite outbox, the real Mailer and an
aiosmtpd server."""

from __future__ import annotations

import asyncio
import email.policy
import logging
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier.core.events import Event, EventKind, Outcome, event_id
from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType
from notifier.core.routing import SKIP_KIND, ChannelKind, RoutingRules, plan_all
from notifier.core.state import TrackedState
from notifier.delivery.channel import Item
from notifier.delivery.completions import JobLogCompletions
from notifier.delivery.loop import DeliveryLoop
from notifier.delivery.retry import BASE_BACKOFF, RetryPolicy
from notifier.delivery.round import DeliveryResult
from notifier.ips.errors import IpsTransportError
from notifier.mail.channel import EmailChannel, EmailSettings, MessageBuilder, localized_message
from notifier.mail.message import OutgoingEmail
from notifier.mail.sender import Mailer
from notifier.store.protocol import Delivery, DeliveryStatus
from notifier.store.sqlite import SqliteStore
from tests import builders
from tests.smtp_sink import SmtpSink

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALL = list(DeliveryStatus)
EVERY_KIND = RoutingRules(events=frozenset(EventKind))


# --- the scenario's parts ---------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class Ceiling(random.Random):
    """Jitter at its maximum, so that backoffs are predictable in assertions."""

    def uniform(self, a: float, b: float) -> float:
        return b


def job(name: str = "Spring catalogue", email: str | None = "ana@example.com") -> ActiveJob:
    return ActiveJob(
        company_handle="47",
        job_handle=f"47|{name}|",
        name=name,
        original_name=name,
        type=JobType.IMAGE_SERVING_PUBLISH,
        state=JobState.RUNNING,
        submit_user_email=email,
        locale="en-US",
        description=None,
        server_name=None,
        start_date=T0 - timedelta(hours=1),
        trigger_time=None,
        total_size=None,
        progress=40,
        progress_message=None,
        last_progress_update=T0,
    )


def event(kind: EventKind = EventKind.STARTED, **job_fields: str | None) -> Event:
    j = job(**job_fields)
    return Event(
        id=event_id(j.company_handle, j.job_handle, 1, kind, 0),
        kind=kind,
        job=j,
        run=1,
        at=T0,
    )


SETTINGS = EmailSettings(sender="IPS Jobs <ips-jobs@example.com>", default_locale="en")


def build(item: Item, *, to: str, locale: str | None, settings: EmailSettings) -> OutgoingEmail:
    """A plain stand-in for the localized renderer: enough for delivery to be checked."""
    event, completion = item.event, item.completion
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    outcome = f" ({completion.outcome})" if completion is not None else ""
    message["Subject"] = f"{event.job.name}: {event.kind}{outcome}"
    message["Message-ID"] = f"<{event.id}@notifier.test>"
    message.set_content(f"{event.job.name} {event.kind}\n")
    return OutgoingEmail(
        sender="ips-jobs@example.com",
        recipient=str(message["To"]),
        message_id=str(message["Message-ID"]),
        data=message.as_bytes(policy=email.policy.SMTPUTF8),
    )


@dataclass
class JobLogs:
    """IPS at the JobLogSource seam: the logs it has written so far, or down."""

    logs: list[JobLog] = field(default_factory=list)
    down: bool = False
    calls: int = 0
    answer: asyncio.Event | None = None  # when set: IPS answers only once this is set

    async def get_job_logs(
        self,
        company_handle: str,
        start_date: datetime,
        end_date: datetime | None = None,
        num_rows: int = 500,
    ) -> list[JobLog]:
        self.calls += 1
        if self.answer is not None:
            await self.answer.wait()
        if self.down:
            raise IpsTransportError("connection refused")
        return [log for log in self.logs if log.company_handle == company_handle]


def job_log(name: str, *, errors: int) -> JobLog:
    return builders.job_log("47", name, started=T0 - timedelta(hours=1), ended=T0, errors=errors)


@dataclass
class World:
    store: SqliteStore
    sink: SmtpSink
    mailer: Mailer
    clock: Clock
    results: list[DeliveryResult]
    rules: RoutingRules = EVERY_KIND

    def loop(
        self,
        *,
        max_backoff: float = 600.0,
        max_age: float = 172_800.0,
        rng: random.Random | None = None,
        build: MessageBuilder = build,
        mailer: Mailer | Observed | None = None,
        **options: object,
    ) -> DeliveryLoop:
        retry = RetryPolicy(max_backoff=max_backoff, max_age=max_age, rng=rng or Ceiling())
        settings: dict[str, object] = {
            "clock": self.clock,
            "retry": retry,
            "on_result": self.count,
            "grace": timedelta(minutes=10),
        }
        settings.update(options)
        channel = EmailChannel(mailer or self.mailer, SETTINGS, build=build)
        return DeliveryLoop(self.store, [channel], **settings)  # type: ignore[arg-type]

    def count(self, channel: ChannelKind, result: DeliveryResult, deliveries: int) -> None:
        assert channel is ChannelKind.EMAIL
        self.results.append(result)

    async def enqueue(self, *events: Event, at: datetime | None = None) -> None:
        """Commit as the poller does, with the routing rules of this world."""
        planned = plan_all(events, self.rules)
        await self.store.commit(TrackedState(), events, planned, at or self.clock.now)

    async def deliveries(self) -> list[Delivery]:
        return await self.store.list_deliveries(ALL)

    async def only(self) -> Delivery:
        [delivery] = await self.deliveries()
        return delivery


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
async def world(tmp_path: Path, sink: SmtpSink) -> AsyncIterator[World]:
    store = await SqliteStore.open(tmp_path / "notifier.sqlite3")
    mailer = Mailer(sink.host, sink.port, timeout=5.0)
    try:
        yield World(store, sink, mailer, Clock(T0), [])
    finally:
        await mailer.close()
        await store.close()


# --- sending and recording --------------------------------------------------------------


async def test_a_due_delivery_is_sent_to_the_submitter_and_recorded_with_its_message_id(
    world: World,
) -> None:
    await world.enqueue(event(email="Ana.Silva@Example.COM"))

    report = await world.loop().run_once(T0)

    [received] = world.sink.messages
    assert received.rcpt_tos == ("Ana.Silva@example.com",)
    assert received.message["Subject"] == "Spring catalogue: started"
    delivery = await world.only()
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.receipt == received.message["Message-ID"]
    assert report.sent == 1
    assert world.results == [DeliveryResult.SENT]


async def test_the_localized_email_travels_whole_and_its_message_id_is_recorded(
    world: World,
) -> None:
    finished = replace(event(EventKind.FINISHED), job=replace(job(), locale="pt-BR"))
    await world.enqueue(finished)
    loop = world.loop(build=localized_message)

    await loop.run_once(T0)

    [received] = world.sink.messages
    sent = received.message
    assert received.rcpt_tos == ("ana@example.com",)
    assert sent["Content-Language"] == "pt-BR"
    assert sent["X-IPS-Job-Event"] == "finished"
    assert sent["X-IPS-Job-Outcome"] == "unknown"
    assert "Spring catalogue" in sent["Subject"]
    assert (await world.only()).receipt == sent["Message-ID"]


async def test_a_4xx_is_retried_later_with_backoff_then_sent(world: World) -> None:
    world.sink.refuse_next(1, 451, "4.3.0 Mailbox busy")
    await world.enqueue(event())
    loop = world.loop()

    first = await loop.run_once(T0)

    delivery = await world.only()
    assert first.retry == 1
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error == "451 4.3.0 Mailbox busy"
    assert delivery.next_attempt_at == T0 + timedelta(seconds=BASE_BACKOFF)
    assert await loop.run_once(T0) == type(first)()  # not due yet: nothing happens

    second = await loop.run_once(world.clock.advance(BASE_BACKOFF))

    assert second.sent == 1
    assert (await world.only()).status is DeliveryStatus.SENT
    assert len(world.sink.messages) == 1
    assert world.results == [DeliveryResult.RETRY, DeliveryResult.SENT]


async def test_backoff_doubles_with_each_attempt_up_to_the_cap(world: World) -> None:
    policy = world.loop(max_backoff=30.0).retry_policy

    ceilings = [policy.backoff(attempts) for attempts in range(7)]

    assert ceilings == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    jittered = world.loop(rng=random.Random(1), max_backoff=30.0).retry_policy
    delays = [jittered.backoff(5) for _ in range(200)]
    assert all(0.0 <= d <= 30.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100  # full jitter spreads the retries


async def test_a_5xx_makes_the_delivery_dead_with_the_servers_reason(world: World) -> None:
    world.sink.refuse_recipient("gone@example.com", 550, "5.1.1 No such user")
    await world.enqueue(event(email="gone@example.com"))

    report = await world.loop().run_once(T0)

    delivery = await world.only()
    assert report.dead == 1
    assert delivery.status is DeliveryStatus.DEAD
    assert delivery.last_error == "550 5.1.1 No such user"


async def test_server_down_leaves_deliveries_pending_and_its_return_drains_them_at_once(
    world: World,
) -> None:
    loop = world.loop()
    await world.enqueue(event(name="First"), event(name="Second"))
    world.sink.stop()

    # A long outage: every round fails, the backoff grows.
    for _ in range(4):
        world.clock.now = min(d.next_attempt_at for d in await world.deliveries())
        await loop.run_once(world.clock.now)
    waiting = await world.deliveries()
    assert [d.status for d in waiting] == [DeliveryStatus.PENDING] * 2
    assert all(d.attempts == 4 for d in waiting)
    assert all("unavailable" in (d.last_error or "") for d in waiting)
    assert all(d.next_attempt_at == world.clock.now + timedelta(seconds=16) for d in waiting)

    world.sink.start()
    await world.enqueue(event(name="Third"))
    back = await loop.run_once(world.clock.now)

    assert back.sent == 1
    assert back.rescheduled == 2
    pulled_in = [d for d in await world.deliveries() if d.status is DeliveryStatus.PENDING]
    assert [d.next_attempt_at for d in pulled_in] == [world.clock.now] * 2
    drained = await loop.run_once(world.clock.now)
    assert drained.sent == 2
    assert {m.message["Subject"] for m in world.sink.messages} == {
        "First: started",
        "Second: started",
        "Third: started",
    }


async def test_after_a_restart_the_first_success_makes_earlier_retries_due(
    world: World,
) -> None:
    world.sink.stop()
    await world.enqueue(event(name="Before the restart"))
    await world.loop().run_once(T0)
    assert (await world.only()).next_attempt_at > T0
    world.sink.start()

    restarted = world.loop()
    await world.enqueue(event(name="After the restart"))
    report = await restarted.run_once(T0)

    assert (report.sent, report.rescheduled) == (1, 1)
    assert (await restarted.run_once(T0)).sent == 1
    assert {d.status for d in await world.deliveries()} == {DeliveryStatus.SENT}


async def test_a_delivery_failing_past_its_maximum_age_becomes_dead(world: World) -> None:
    await world.enqueue(event(), at=T0 - timedelta(days=3))
    world.sink.stop()

    report = await world.loop(max_age=2 * 86400.0).run_once(T0)

    delivery = await world.only()
    assert report.dead == 1
    assert delivery.status is DeliveryStatus.DEAD
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("still failing after 72.0 h: SMTP server")


# --- what is not sent, and why -----------------------------------------------------------


async def test_an_event_kind_not_configured_is_skipped_with_the_reason(world: World) -> None:
    world.rules = RoutingRules()
    await world.enqueue(event(EventKind.QUEUED))

    report = await world.loop().run_once(T0)

    delivery = await world.only()
    assert report == type(report)(), "skipped when committed: nothing left to do"
    assert delivery.status is DeliveryStatus.SKIPPED
    assert delivery.last_error == SKIP_KIND
    assert world.sink.messages == []


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        (None, "invalid recipient address: no recipient address"),
        ("ana@example.com, boss@example.com", "invalid recipient address: address looks like"),
        ("Ana <ana@example.com>", "invalid recipient address: address has a display name"),
    ],
)
async def test_an_invalid_recipient_is_skipped_with_the_reason(
    world: World, email: str | None, reason: str
) -> None:
    await world.enqueue(event(email=email))

    await world.loop().run_once(T0)

    delivery = await world.only()
    assert delivery.status is DeliveryStatus.SKIPPED
    assert (delivery.last_error or "").startswith(reason)
    assert world.sink.connections_accepted == 0


async def test_an_email_that_cannot_be_built_is_dead_and_the_others_still_go(
    world: World,
) -> None:
    def fragile(
        item: Item, *, to: str, locale: str | None, settings: EmailSettings
    ) -> OutgoingEmail:
        if item.event.job.name == "Broken":
            raise KeyError("missing template variable")
        return build(item, to=to, locale=locale, settings=settings)

    await world.enqueue(event(name="Broken"), event(name="Fine"))
    loop = world.loop(build=fragile)

    report = await loop.run_once(T0)

    broken, fine = await world.deliveries()
    assert (report.dead, report.sent) == (1, 1)
    assert broken.status is DeliveryStatus.DEAD
    assert "cannot build the message" in (broken.last_error or "")
    assert fine.status is DeliveryStatus.SENT


# --- finished jobs wait for their outcome -------------------------------------------------


async def test_a_finished_job_is_mailed_once_its_outcome_is_known(world: World) -> None:
    ips = JobLogs()
    loop = world.loop(completions=JobLogCompletions(ips))
    await world.enqueue(event(EventKind.FINISHED))

    early = await loop.run_once(T0 + timedelta(minutes=1))

    assert (early.waiting, early.sent) == (1, 0)
    assert (await world.only()).completion is None
    assert world.sink.messages == []

    ips.logs.append(job_log("Spring catalogue", errors=3))
    later = await loop.run_once(T0 + timedelta(minutes=2))

    delivery = await world.only()
    assert (later.waiting, later.sent) == (0, 1)
    assert delivery.completion is not None
    assert delivery.completion.outcome is Outcome.FAILED
    assert world.sink.messages[0].message["Subject"] == "Spring catalogue: finished (failed)"
    assert ips.calls == 2


async def test_only_the_replica_that_polls_asks_ips_for_outcomes(world: World) -> None:
    """A standby delivers but leaves the job logs (and the wait for them) to the leader: N
    replicas, one replica's getJobLogs traffic. Once it leads, it asks."""
    ips = JobLogs(logs=[job_log("Spring catalogue", errors=0)])
    leading = False
    standby = world.loop(completions=JobLogCompletions(ips), resolves_outcomes=lambda: leading)
    await world.enqueue(event(EventKind.FINISHED))

    report = await standby.run_once(T0 + timedelta(minutes=1))
    assert (report.waiting, report.sent, ips.calls) == (0, 0, 0), "the leader's to wait for"
    assert world.sink.messages == []

    leading = True
    report = await standby.run_once(T0 + timedelta(minutes=2))
    assert (report.waiting, report.sent, ips.calls) == (0, 1, 1)


async def test_ips_down_past_the_grace_period_mails_the_outcome_as_unknown(world: World) -> None:
    ips = JobLogs(down=True)
    loop = world.loop(completions=JobLogCompletions(ips))
    await world.enqueue(event(EventKind.FINISHED))

    assert (await loop.run_once(T0 + timedelta(minutes=5))).waiting == 1
    report = await loop.run_once(T0 + timedelta(minutes=10))

    assert report.sent == 1
    assert world.sink.messages[0].message["Subject"] == "Spring catalogue: finished (unknown)"


async def test_ips_is_asked_at_once_for_a_new_finished_job_then_only_every_ask_every(
    world: World,
) -> None:
    ips = JobLogs()
    loop = world.loop(completions=JobLogCompletions(ips), ask_every=30.0)
    await world.enqueue(event(EventKind.FINISHED, name="A"))

    await loop.run_once(T0)
    quiet = await loop.run_once(T0 + timedelta(seconds=1))
    assert (ips.calls, quiet.waiting) == (1, 1)

    await world.enqueue(event(EventKind.FINISHED, name="B"))
    await loop.run_once(T0 + timedelta(seconds=2))
    await loop.run_once(T0 + timedelta(seconds=3))
    assert ips.calls == 2

    await loop.run_once(T0 + timedelta(seconds=32))
    assert ips.calls == 3


async def test_the_end_of_the_grace_period_does_not_wait_for_the_next_ask(
    world: World,
) -> None:
    ips = JobLogs()  # IPS answers, but never writes this job's log
    loop = world.loop(completions=JobLogCompletions(ips), ask_every=3600.0)
    await world.enqueue(event(EventKind.FINISHED))

    assert (await loop.run_once(T0)).waiting == 1
    report = await loop.run_once(T0 + timedelta(minutes=10))

    assert report.sent == 1
    assert world.sink.messages[0].message["Subject"] == "Spring catalogue: finished (unknown)"


async def test_a_finished_job_not_to_be_mailed_costs_no_job_log_call(world: World) -> None:
    ips = JobLogs()
    world.rules = RoutingRules(events=frozenset({EventKind.STARTED}))
    loop = world.loop(completions=JobLogCompletions(ips))
    await world.enqueue(event(EventKind.FINISHED))

    report = await loop.run_once(T0)

    assert report.waiting == 0
    assert ips.calls == 0
    assert (await world.only()).status is DeliveryStatus.SKIPPED


async def test_without_a_job_log_source_finished_jobs_go_at_once(world: World) -> None:
    await world.enqueue(event(EventKind.FINISHED))

    report = await world.loop().run_once(T0)

    assert report.sent == 1
    assert world.sink.messages[0].message["Subject"] == "Spring catalogue: finished (unknown)"


async def test_waiting_finished_jobs_do_not_hold_up_other_deliveries(world: World) -> None:
    ips = JobLogs()
    await world.enqueue(*(event(EventKind.FINISHED, name=f"Job {i}") for i in range(5)))
    await world.enqueue(event(name="Started job"))

    report = await world.loop(completions=JobLogCompletions(ips), batch=2).run_once(T0)

    assert (report.waiting, report.sent) == (5, 1)


async def test_a_slow_ips_holds_up_only_the_finished_jobs_waiting_for_it(world: World) -> None:
    ips = JobLogs(logs=[job_log("Spring catalogue", errors=0)], answer=asyncio.Event())
    await world.enqueue(event(EventKind.FINISHED), event(name="Summer"))
    loop = world.loop(completions=JobLogCompletions(ips))

    round_ = asyncio.create_task(loop.run_once(T0))
    [first] = await world.sink.wait_for_messages(1)
    assert first.message["Subject"] == "Summer: started"
    assert not round_.done()

    assert ips.answer is not None
    ips.answer.set()
    report = await asyncio.wait_for(round_, 10)

    assert report.sent == 2
    assert world.sink.messages[1].message["Subject"] == "Spring catalogue: finished (succeeded)"


# --- concurrency and the daemon loop ------------------------------------------------------


async def test_sends_are_bounded_by_the_concurrency(world: World) -> None:
    world.sink.set_delay(0.05)
    await world.enqueue(*(event(name=f"Job {i}") for i in range(6)))
    two = Mailer(world.sink.host, world.sink.port, timeout=5.0, max_connections=2)

    try:
        report = await world.loop(mailer=two).run_once(T0)
    finally:
        await two.close()

    assert report.sent == 6
    assert world.sink.peak_connections <= 2


@dataclass
class Observed:
    """The real mailer, with a flag raised as each send starts."""

    mailer: Mailer
    started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def max_connections(self) -> int:
        return 1

    async def send(self, message: OutgoingEmail, *, recipients: Sequence[str] | None = None) -> str:
        self.started.set()
        return await self.mailer.send(message, recipients=recipients)


async def test_stop_lets_the_send_in_flight_finish_and_leaves_the_rest_pending(
    world: World,
) -> None:
    world.sink.set_delay(0.3)
    await world.enqueue(*(event(name=f"Job {i}") for i in range(3)))
    observed = Observed(world.mailer)
    loop = world.loop(mailer=observed)
    stop = asyncio.Event()

    running = asyncio.create_task(loop.run(stop, interval=60.0))
    await asyncio.wait_for(observed.started.wait(), 10)
    stop.set()
    await asyncio.wait_for(running, 10)

    statuses = [d.status for d in await world.deliveries()]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.PENDING]
    assert len(world.sink.messages) == 1
    assert [d.attempts for d in await world.deliveries()] == [1, 0, 0]


async def test_the_loop_wakes_when_told_and_keeps_going_after_a_failed_round(
    world: World,
) -> None:
    loop = world.loop()
    stop, wake = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(loop.run(stop, wake, interval=60.0))
    try:
        await world.enqueue(event(name="Woken"))
        wake.set()
        await world.sink.wait_for_messages(1)

        world.sink.refuse_next(1, 421, "4.3.2 Closing")
        await world.enqueue(event(name="Refused then sent"))
        wake.set()
        await _until(lambda: world.results.count(DeliveryResult.RETRY) == 1)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert [m.message["Subject"] for m in world.sink.messages] == ["Woken: started"]


async def test_a_failing_round_is_logged_once_and_the_loop_goes_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="notifier.delivery.loop")
    await world.enqueue(event())
    await world.store.close()  # every store call now fails
    loop = world.loop()
    stop = asyncio.Event()

    running = asyncio.create_task(loop.run(stop, interval=0.01))
    await _until(lambda: "delivery round failed again" in caplog.text)
    stop.set()
    await asyncio.wait_for(running, 10)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


async def test_on_result_sees_every_outcome_once(world: World) -> None:
    world.sink.refuse_recipient("gone@example.com")
    world.sink.refuse_next(1, 451)
    await world.enqueue(
        event(name="A"),  # 451: retry
        event(name="B"),
        event(name="C", email="gone@example.com"),
        event(name="D", email="no address"),
    )
    one = Mailer(world.sink.host, world.sink.port, timeout=5.0, max_connections=1)
    try:
        report = await world.loop(mailer=one).run_once(T0)
    finally:
        await one.close()

    assert sorted(world.results) == sorted(
        [DeliveryResult.RETRY, DeliveryResult.SENT, DeliveryResult.DEAD, DeliveryResult.SKIPPED]
    )
    assert replace(report, more=False) == type(report)(
        sent=1, retry=1, dead=1, skipped=1, rescheduled=1
    )


async def _until(condition: object, within: float = 10.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
