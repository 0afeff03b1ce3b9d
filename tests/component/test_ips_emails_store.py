"""notify.ips_emails = "complement" in a real SQLite outbox: once the outcome is known, the
submitter's finished email is skipped where IPS mails that outcome itself, with a reason
naming the emailSetting; a route's skip keeps the route's reason; what IPS does not mail
stays owed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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
from notifier.core.state import TrackedState
from notifier.store.protocol import DeliveryStatus
from notifier.store.sqlite import SqliteStore
from tests import soap_bodies as sb

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SUBMITTER = "marie@example.com"
TEAM = Recipient(ChannelKind.EMAIL, "dam-team@example.com", "de")
RULES = RoutingRules(
    ips_emails=IpsEmails.COMPLEMENT,
    routes=(Route(to=(TEAM,), outcomes=frozenset({Outcome.FAILED})),),
)


def finished(name: str, setting: EmailSetting) -> Event:
    job = sb.active_job(
        job_handle=f"47|{name}|",
        name=name,
        state=JobState.DONE,
        detail=JobDetail(JobDetailKind.UPLOAD_DIRECTORY, setting),
    )
    kind = EventKind.FINISHED
    return Event(event_id(job.company_handle, job.job_handle, 1, kind, 0), kind, job, 1, T0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "notifier.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


async def outcomes_known(
    store: SqliteStore, outcomes: dict[Event, Outcome]
) -> dict[tuple[str, str], tuple[DeliveryStatus, str | None]]:
    events = list(outcomes)
    await store.commit(TrackedState(), events, plan_all(events, RULES), T0)
    done = {e.id: Completion(o, ended_at=T0) for e, o in outcomes.items()}
    await store.set_completions(done, T0 + timedelta(minutes=1))
    rows = await store.list_deliveries(list(DeliveryStatus))
    return {(d.event.job.name, d.recipient.address): (d.status, d.last_error) for d in rows}


async def test_the_submitters_skip_names_the_email_setting_and_the_routes_its_outcomes(
    store: SqliteStore,
) -> None:
    broken = finished("Broken", EmailSetting.ERROR)
    fine = finished("Fine", EmailSetting.ERROR)
    rows = await outcomes_known(store, {broken: Outcome.FAILED, fine: Outcome.SUCCEEDED})
    assert rows == {
        ("Broken", SUBMITTER): (
            DeliveryStatus.SKIPPED,
            "IPS mails this outcome itself (emailSetting Error)",
        ),
        ("Broken", TEAM.address): (DeliveryStatus.PENDING, None),
        ("Fine", SUBMITTER): (DeliveryStatus.PENDING, None),
        ("Fine", TEAM.address): (DeliveryStatus.SKIPPED, SKIP_OUTCOME),
    }
    due = await store.due_deliveries(T0 + timedelta(minutes=2), 10)
    assert sorted((d.event.job.name, d.recipient.address) for d in due) == [
        ("Broken", TEAM.address),
        ("Fine", SUBMITTER),
    ]


async def test_warnings_are_skipped_for_error_and_warning_and_every_outcome_for_all(
    store: SqliteStore,
) -> None:
    warned = finished("Warned", EmailSetting.ERROR_AND_WARNING)
    mailed = finished("Mailed", EmailSetting.ALL)
    rows = await outcomes_known(store, {warned: Outcome.WARNINGS, mailed: Outcome.SUCCEEDED})
    assert rows[("Warned", SUBMITTER)] == (
        DeliveryStatus.SKIPPED,
        "IPS mails this outcome itself (emailSetting ErrorAndWarning)",
    )
    assert rows[("Mailed", SUBMITTER)] == (
        DeliveryStatus.SKIPPED,
        "IPS mails this outcome itself (emailSetting All)",
    )
