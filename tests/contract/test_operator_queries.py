"""What `notifier outbox`, the status line and digests read of the outbox, the same on every
store: one delivery, a query by status, recipient, job and age, the oldest owed one
per channel, what was sent singly, and what dropping and pruning dead letters do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from notifier.core.events import Completion, Event, EventKind, Outcome, event_id
from notifier.core.ips_emails import IpsEmails
from notifier.core.jobs import EmailSetting, JobDetail, JobDetailKind, JobState
from notifier.core.routing import (
    SKIP_OUTCOME,
    ChannelKind,
    Recipient,
    Route,
    RoutingRules,
    plan_all,
)
from notifier.store.protocol import DeliveryQuery, DeliveryStatus, Store
from tests import soap_bodies as sb
from tests.contract.test_outbox import LATER, T0, email_counts, started_jobs

SOMEONE = Recipient(ChannelKind.EMAIL, "SOMEONE@example.com")
ANY = DeliveryQuery(statuses=tuple(DeliveryStatus))


async def test_one_delivery_is_read_by_its_id_with_when_it_last_changed(full_store: Store) -> None:
    store = full_store
    _, events = await started_jobs(store, "A")
    (due,) = await store.due_deliveries(LATER, limit=1)
    await store.mark_sent([due.id], "<a@notifier>", LATER + timedelta(seconds=3))
    found = await store.delivery(due.id)
    assert found is not None
    assert (found.event, found.status, found.receipt) == (
        events[0],
        DeliveryStatus.SENT,
        "<a@notifier>",
    )
    assert found.updated_at == LATER + timedelta(seconds=3), "a sent one: when it was sent"
    assert found.created_at == T0 + timedelta(minutes=1)
    assert await store.delivery(due.id + 1000) is None


async def test_only_what_went_out_one_message_each_counts_as_sent_singly(
    full_store: Store,
) -> None:
    store = full_store
    await started_jobs(store, "A", "B", "C", "D")
    a, b, c, d = await store.due_deliveries(LATER, limit=10)
    await store.mark_sent([a.id], "<a@notifier>", LATER)
    await store.mark_sent([b.id], "<b@notifier>", LATER + timedelta(minutes=10))
    until = LATER + timedelta(minutes=15)
    await store.hold([c.id, d.id], until, LATER + timedelta(minutes=10))
    digest = await store.due_digests(until, limit=10)
    await store.mark_sent([x.id for x in digest], "<digest@notifier>", until)

    everything = await store.sent_singly(SOMEONE, T0)
    assert [x.id for x in everything] == [a.id, b.id], "the digest's are not single messages"
    (recent,) = await store.sent_singly(SOMEONE, LATER + timedelta(minutes=1))
    assert (recent.id, recent.receipt) == (b.id, "<b@notifier>")
    assert recent.updated_at == LATER + timedelta(minutes=10)
    webhook = Recipient(ChannelKind.WEBHOOK, "someone@example.com")
    assert await store.sent_singly(webhook, T0) == [], "another channel's are not its"


async def test_deliveries_are_found_by_status_recipient_job_and_age_newest_kept(
    full_store: Store,
) -> None:
    store = full_store
    team = Recipient(ChannelKind.EMAIL, "dam-team@example.com")
    await started_jobs(store, "A", "B", routing=RoutingRules(routes=(Route(to=(team,)),)))
    due = await store.due_deliveries(LATER, limit=10)
    mine = [x for x in due if x.recipient.key == SOMEONE.key]
    await store.mark_dead([mine[0].id], "550 no such user", LATER)

    found = await store.find_deliveries(ANY)
    assert [x.id for x in found] == sorted(x.id for x in due), "oldest first"
    dead = await store.find_deliveries(DeliveryQuery(statuses=(DeliveryStatus.DEAD,)))
    assert [x.id for x in dead] == [mine[0].id]
    assert [x.id for x in await store.find_deliveries(replace(ANY, recipient=SOMEONE))] == [
        x.id for x in mine
    ], "the address is compared case-insensitively"
    by_name = await store.find_deliveries(replace(ANY, job="B"))
    by_handle = await store.find_deliveries(replace(ANY, job="47|B|"))
    assert {x.event.job.name for x in by_name} == {"B"} and len(by_name) == 2
    assert [x.id for x in by_handle] == [x.id for x in by_name]
    assert await store.find_deliveries(replace(ANY, job="C")) == []
    assert await store.find_deliveries(replace(ANY, since=T0 + timedelta(minutes=2))) == []
    assert len(await store.find_deliveries(replace(ANY, since=T0 + timedelta(minutes=1)))) == 4
    newest = await store.find_deliveries(ANY, limit=2)
    assert [x.id for x in newest] == sorted(x.id for x in due)[-2:], "the newest, oldest first"


async def test_the_oldest_owed_delivery_counts_from_when_it_became_pending(
    full_store: Store,
) -> None:
    store = full_store
    assert await store.oldest_owed() == {}
    await started_jobs(store, "A", "B")
    first, second = await store.due_deliveries(LATER, limit=10)
    await store.hold([first.id], LATER + timedelta(minutes=15), LATER)
    assert await store.oldest_owed() == {ChannelKind.EMAIL: T0 + timedelta(minutes=1)}
    await store.mark_sent([first.id], "<a@notifier>", LATER)
    await store.mark_dead([second.id], "550 no such user", LATER)
    assert await store.oldest_owed() == {}, "sent and dead ones are owed no more"
    retried = LATER + timedelta(hours=2)
    assert await store.retry(second.id, retried)
    assert await store.oldest_owed() == {ChannelKind.EMAIL: retried}, "held included"


async def test_dropping_a_dead_letter_sets_it_aside_with_its_reason(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A", "B")
    first, second = await store.due_deliveries(LATER, limit=10)
    await store.mark_dead([first.id], "550 no such user", LATER)
    assert await store.drop(first.id, LATER + timedelta(minutes=1)) is True
    assert await store.drop(second.id, LATER + timedelta(minutes=1)) is True
    aside = await store.delivery(first.id)
    assert aside is not None
    assert (aside.status, aside.last_error) == (
        DeliveryStatus.SKIPPED,
        "dropped by operator; was dead: 550 no such user",
    )
    assert aside.updated_at == LATER + timedelta(minutes=1)
    counts = await email_counts(store)
    assert (counts[DeliveryStatus.DEAD], counts[DeliveryStatus.SKIPPED]) == (1, 1)
    assert await store.drop(second.id, LATER) is True, "an owed one dropped is dead, then aside"
    again = await store.delivery(second.id)
    assert again is not None and again.status is DeliveryStatus.SKIPPED
    assert again.last_error == "dropped by operator; was dead: dropped by operator"
    assert await store.drop(first.id, LATER) is False, "neither owed nor dead"
    assert await store.drop(999_999, LATER) is False


async def test_old_dead_letters_are_pruned_too(full_store: Store) -> None:
    store = full_store
    await started_jobs(store, "A", "B")
    dead, pending = await store.due_deliveries(LATER, limit=10)
    await store.mark_dead([dead.id], "550 no such user", T0 + timedelta(days=1))
    assert await store.prune(T0 + timedelta(days=1)) == 0
    assert await store.prune(T0 + timedelta(days=30)) == 1
    assert [x.id for x in await store.list_deliveries(list(DeliveryStatus))] == [pending.id]


def finished(name: str, setting: EmailSetting) -> Event:
    job = sb.active_job(
        job_handle=f"47|{name}|",
        name=name,
        state=JobState.DONE,
        detail=JobDetail(JobDetailKind.UPLOAD_DIRECTORY, setting),
    )
    kind = EventKind.FINISHED
    return Event(event_id(job.company_handle, job.job_handle, 1, kind, 0), kind, job, 1, T0)


async def test_deliveries_not_wanted_for_the_outcome_are_skipped_with_the_routings_reason(
    full_store: Store,
) -> None:
    store = full_store
    team = Recipient(ChannelKind.EMAIL, "dam-team@example.com")
    rules = RoutingRules(
        ips_emails=IpsEmails.COMPLEMENT,
        routes=(Route(to=(team,), outcomes=frozenset({Outcome.FAILED})),),
    )
    broken, fine = finished("Broken", EmailSetting.ERROR), finished("Fine", EmailSetting.ERROR)
    state = await store.load_state()  # as the poller does before it commits
    await store.commit(state, [broken, fine], plan_all([broken, fine], rules), T0)
    done = {
        broken.id: Completion(Outcome.FAILED, ended_at=T0),
        fine.id: Completion(Outcome.SUCCEEDED, ended_at=T0),
    }
    await store.set_completions(done, T0 + timedelta(minutes=1))
    found = await store.list_deliveries(list(DeliveryStatus))
    assert {(x.event.job.name, x.recipient.address): (x.status, x.last_error) for x in found} == {
        ("Broken", "marie@example.com"): (
            DeliveryStatus.SKIPPED,
            "IPS mails this outcome itself (emailSetting Error)",
        ),
        ("Broken", team.address): (DeliveryStatus.PENDING, None),
        ("Fine", "marie@example.com"): (DeliveryStatus.PENDING, None),
        ("Fine", team.address): (DeliveryStatus.SKIPPED, SKIP_OUTCOME),
    }
    skipped = [x for x in found if x.status is DeliveryStatus.SKIPPED]
    assert {x.updated_at for x in skipped} == {T0 + timedelta(minutes=1)}
    assert {x.channel for x in await store.due_deliveries(T0 + timedelta(minutes=2), 10)} == {
        ChannelKind.EMAIL
    }
