"""Routes and digests through the delivery loop, a real SQLite outbox and aiosmtpd: team
recipients in their route's language, outcomes that narrow a route, and a recipient's burst
held in the store and sent as one digest when its window ends, across a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier.core.events import Completion, Event, EventKind, Outcome, event_id
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import (
    SKIP_OUTCOME,
    ChannelKind,
    Recipient,
    Route,
    RoutingRules,
    plan_all,
)
from notifier.core.state import TrackedState
from notifier.delivery.hold import DigestSettings
from notifier.delivery.loop import DeliveryLoop
from notifier.mail.channel import EmailChannel, EmailSettings
from notifier.mail.i18n import negotiate_locale, translations
from notifier.mail.sender import Mailer
from notifier.store.protocol import Delivery, DeliveryStatus
from notifier.store.sqlite import SqliteStore
from tests.smtp_sink import SmtpSink

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SETTINGS = EmailSettings(sender="IPS Jobs <ips-jobs@example.com>")
TEAM = Recipient(ChannelKind.EMAIL, "dam-team@example.com", "de")
FAILURES = Route(
    to=(TEAM,), events=frozenset({EventKind.FINISHED}), outcomes=frozenset({Outcome.FAILED})
)


def job(name: str, email: str = "ana@example.com") -> ActiveJob:
    return ActiveJob(
        "47", f"47|{name}|", name, None, JobType.IMAGE_SERVING_PUBLISH, JobState.RUNNING,
        email, "pt-BR", None, None, T0 - timedelta(hours=1), None, None, 40, None, T0,
    )  # fmt: skip


def event(name: str, kind: EventKind = EventKind.STARTED, email: str = "ana@example.com") -> Event:
    j = job(name, email)
    return Event(event_id("47", j.job_handle, 1, kind, 0), kind, j, 1, T0)


@dataclass
class Outcomes:
    """IPS's job logs, reduced to the outcome each finished job will have."""

    by_name: dict[str, Outcome]

    async def __call__(
        self, events: Sequence[Event], now: datetime, grace: timedelta
    ) -> dict[str, Completion]:
        return {e.id: Completion(self.by_name[e.job.name or ""]) for e in events}


@dataclass
class Rig:
    path: Path
    store: SqliteStore
    sink: SmtpSink
    mailer: Mailer
    rules: RoutingRules

    def loop(
        self,
        digest: DigestSettings | None = None,
        settings: EmailSettings = SETTINGS,
        **options: object,
    ) -> DeliveryLoop:
        channel = EmailChannel(self.mailer, settings)
        return DeliveryLoop(self.store, [channel], digest=digest, **options)  # type: ignore[arg-type]

    async def enqueue(self, *events: Event) -> None:
        await self.store.commit(TrackedState(), events, plan_all(events, self.rules), T0)

    async def rows(self) -> list[Delivery]:
        return await self.store.list_deliveries(list(DeliveryStatus))

    async def reopen(self) -> None:
        await self.store.close()
        self.store = await SqliteStore.open(self.path)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
async def rig(tmp_path: Path, sink: SmtpSink) -> AsyncIterator[Rig]:
    path = tmp_path / "notifier.sqlite3"
    store = await SqliteStore.open(path)
    mailer = Mailer(sink.host, sink.port, timeout=5.0)
    made = Rig(path, store, sink, mailer, RoutingRules())
    try:
        yield made
    finally:
        await mailer.close()
        await made.store.close()


async def test_a_team_route_hears_of_failures_in_its_language_and_the_submitter_in_theirs(
    rig: Rig,
) -> None:
    rig.rules = RoutingRules(routes=(FAILURES,))
    await rig.enqueue(event("Broken", EventKind.FINISHED), event("Fine", EventKind.FINISHED))
    outcomes = Outcomes({"Broken": Outcome.FAILED, "Fine": Outcome.SUCCEEDED})

    await rig.loop(completions=outcomes).run_once(T0)

    by_rcpt = sorted((m.rcpt_tos[0], str(m.message["Subject"])) for m in rig.sink.messages)
    assert [rcpt for rcpt, _ in by_rcpt] == [
        "ana@example.com",
        "ana@example.com",
        "dam-team@example.com",
    ]
    team = next(m for m in rig.sink.messages if m.rcpt_tos == ("dam-team@example.com",))
    assert team.message["Content-Language"] == "de"
    assert "Broken" in str(team.message["Subject"])
    ana = [m for m in rig.sink.messages if m.rcpt_tos == ("ana@example.com",)]
    assert {m.message["Content-Language"] for m in ana} == {"pt-BR"}
    assert team.message["Message-ID"] not in {m.message["Message-ID"] for m in ana}
    skipped = [d for d in await rig.rows() if d.status is DeliveryStatus.SKIPPED]
    assert [(d.recipient, d.event.job.name, d.last_error) for d in skipped] == [
        (TEAM, "Fine", SKIP_OUTCOME)
    ]


async def test_a_recipient_of_two_routes_and_the_submitter_gets_one_email(rig: Rig) -> None:
    ana_again = Recipient(ChannelKind.EMAIL, "ANA@example.com", "de")
    rig.rules = RoutingRules(
        routes=(Route(to=(ana_again, TEAM)), Route(to=(TEAM,), events=frozenset(EventKind)))
    )
    await rig.enqueue(event("Spring"))

    await rig.loop().run_once(T0)

    assert sorted(m.rcpt_tos for m in rig.sink.messages) == [
        ("ana@example.com",),
        ("dam-team@example.com",),
    ]


async def test_a_burst_is_held_in_the_store_and_sent_as_one_digest_at_the_end_of_the_window(
    rig: Rig,
) -> None:
    digest = DigestSettings(after=5, window=timedelta(minutes=10))
    await rig.enqueue(*(event(f"Job {i:02}") for i in range(12)), event("Bob's", email="bob@x.org"))

    first = await rig.loop(digest, clock=lambda: T0).run_once(T0)

    assert (first.sent, first.held) == (6, 7), "5 for Ana, Bob's one at once; 7 held"
    assert sorted(m.rcpt_tos[0] for m in rig.sink.messages).count("ana@example.com") == 5
    held = [d for d in await rig.rows() if d.status is DeliveryStatus.HELD]
    assert len(held) == 7
    assert {d.next_attempt_at for d in held} == {T0 + timedelta(minutes=10)}

    await rig.reopen()  # held in the store, not in memory
    end = T0 + timedelta(minutes=10)
    assert (
        await rig.loop(digest, clock=lambda: end).run_once(end - timedelta(seconds=1))
    ).sent == 0
    released = await rig.loop(digest, clock=lambda: end).run_once(end)

    assert released.sent == 7
    assert len(rig.sink.messages) == 7, "6 single emails, then one digest"
    sent_digest = rig.sink.messages[-1].message
    assert sent_digest["X-IPS-Job-Event"] == "digest"
    assert sent_digest["X-IPS-Digest-Count"] == "12", "the whole burst: 5 sent, 7 held"
    body = sent_digest.get_body(("plain",))
    assert body is not None
    listed = body.get_content()
    assert all(f"Job {i:02}" in listed for i in range(12))
    assert "Bob's" not in listed
    catalog = negotiate_locale(str(sent_digest["Content-Language"]))
    already_sent = " · " + translations(catalog).gettext("already sent")
    lines = [line for line in listed.splitlines() if line.startswith("- Job ")]
    marked = sorted(line.split(" · ")[0] for line in lines if line.endswith(already_sent))
    assert marked == [f"- Job {i:02}" for i in range(5)], "the singles are marked as sent"
    rows = await rig.rows()
    assert {d.status for d in rows} == {DeliveryStatus.SENT}
    held_names = {f"Job {i:02}" for i in range(5, 12)}
    assert len({d.receipt for d in rows if d.event.job.name in held_names}) == 1
    assert len({d.receipt for d in rows if d.event.job.name in listed}) == 6, "5 singles"


async def test_a_burst_larger_than_a_round_still_goes_as_one_digest(rig: Rig) -> None:
    digest = DigestSettings(after=2, window=timedelta(minutes=10))
    await rig.enqueue(*(event(f"Job {i:02}") for i in range(30)))
    await rig.loop(digest, batch=8, clock=lambda: T0).run_once(T0)
    for _ in range(4):  # rounds of 8 until everything is sent or held
        await rig.loop(digest, batch=8, clock=lambda: T0).run_once(T0)
    assert len(rig.sink.messages) == 2
    end = T0 + timedelta(minutes=10)

    released = await rig.loop(digest, batch=8, clock=lambda: end).run_once(end)

    assert released.sent == 28, "all 28 held rows in one digest, though a round takes 8"
    assert len(rig.sink.messages) == 3
    assert rig.sink.messages[-1].message["X-IPS-Digest-Count"] == "30"


async def test_every_email_and_the_digest_carry_the_configured_reply_to_and_domain(
    rig: Rig,
) -> None:
    rig.rules = RoutingRules(routes=(Route(to=(TEAM,), events=frozenset(EventKind)),))
    settings = EmailSettings(
        sender="IPS Jobs <ips-jobs@example.com>",
        reply_to="DMC Team <dmc-team@example.com>",
        dmc_url="https://s7sps1.scene7.com/IpsWeb/",
        message_id_domain="mail.example.net",
    )
    digest = DigestSettings(after=1, window=timedelta(minutes=10))
    await rig.enqueue(event("One"), event("Two"), event("Three"))
    await rig.loop(digest, settings, clock=lambda: T0).run_once(T0)
    end = T0 + timedelta(minutes=10)
    await rig.loop(digest, settings, clock=lambda: end).run_once(end)

    mails = [m.message for m in rig.sink.messages]
    assert len(mails) == 4, "one single email and one digest for each of Ana and the team"
    assert sorted(str(m["X-IPS-Job-Event"]) for m in mails) == [
        "digest",
        "digest",
        "started",
        "started",
    ]
    for mail in mails:
        assert str(mail["Reply-To"]) == "DMC Team <dmc-team@example.com>"
        assert str(mail["Message-ID"]).endswith("@mail.example.net>")
        html = mail.get_body(("html",))
        assert html is not None
        assert 'href="https://s7sps1.scene7.com/IpsWeb/"' in html.get_content()
        assert 'href="mailto:dmc-team@example.com"' in html.get_content()


async def test_digest_settings_off_never_hold(rig: Rig) -> None:
    await rig.enqueue(*(event(f"Job {i}") for i in range(8)))

    report = await rig.loop(DigestSettings(after=0)).run_once(T0)

    assert (report.sent, report.held) == (8, 0)


async def test_a_held_digest_retries_as_one_when_the_server_is_down(rig: Rig) -> None:
    digest = DigestSettings(after=1, window=timedelta(minutes=10))
    await rig.enqueue(event("One"), event("Two"), event("Three"))
    await rig.loop(digest, clock=lambda: T0).run_once(T0)
    end = T0 + timedelta(minutes=10)
    rig.sink.stop()

    report = await rig.loop(digest, clock=lambda: end).run_once(end)

    assert report.retry == 2
    held = [d for d in await rig.rows() if d.status is DeliveryStatus.HELD]
    assert len(held) == 2 and all(d.attempts == 1 for d in held), "still held, retried later"
    assert len({replace(d, id=0).next_attempt_at for d in held}) == 1
