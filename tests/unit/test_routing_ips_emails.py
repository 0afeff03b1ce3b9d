"""notify.ips_emails: in "complement", the submitter's finished email is not sent for the
outcomes IPS mails itself (by the job's emailSetting); routes and other events unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from notifier.core.events import Event, EventKind, Outcome, event_id
from notifier.core.ips_emails import IpsEmails
from notifier.core.jobs import EmailSetting, JobDetail, JobDetailKind
from notifier.core.routing import (
    SKIP_DENIED,
    SKIP_OUTCOME,
    ChannelKind,
    Recipient,
    Route,
    RoutingRules,
    plan,
    skip_reason,
    wanted,
)
from tests import soap_bodies as sb

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ANA = "Ana.Silva@Example.COM"
TEAM = Recipient(ChannelKind.EMAIL, "dam-team@example.com", "de")
COMPLEMENT = RoutingRules(events=frozenset(EventKind), ips_emails=IpsEmails.COMPLEMENT)
IGNORE = RoutingRules(events=frozenset(EventKind))
EVERY = frozenset(Outcome)

# What the submitter's finished email is still sent for in "complement", per emailSetting.
SENT_FOR: dict[EmailSetting | None, frozenset[Outcome]] = {
    EmailSetting.ALL: frozenset(),
    EmailSetting.JOB_COMPLETION: frozenset(),
    EmailSetting.ERROR: EVERY - {Outcome.FAILED},
    EmailSetting.ERROR_AND_WARNING: EVERY - {Outcome.FAILED, Outcome.WARNINGS},
    EmailSetting.NONE: EVERY,
    EmailSetting.UNRECOGNIZED: EVERY,
    None: EVERY,
}


def event(kind: EventKind, setting: EmailSetting | None, email: str = ANA) -> Event:
    detail = JobDetail(JobDetailKind.UPLOAD_DIRECTORY, setting)
    job = replace(sb.active_job(detail=detail), submit_user_email=email)
    return Event(
        id=event_id(job.company_handle, job.job_handle, 1, kind, 0),
        kind=kind,
        job=job,
        run=1,
        at=AT,
    )


def sent_for(outcomes: frozenset[Outcome], skip: str) -> frozenset[Outcome]:
    """The outcomes a planned delivery is mailed for."""
    if skip:
        return frozenset()
    return frozenset(o for o in Outcome if wanted(outcomes, o))


@pytest.mark.parametrize("setting", list(SENT_FOR))
def test_complement_sends_the_submitter_only_what_ips_does_not_mail(
    setting: EmailSetting | None,
) -> None:
    (submitter,) = plan(event(EventKind.FINISHED, setting), COMPLEMENT)
    assert submitter.recipient.address == ANA
    assert sent_for(submitter.outcomes, submitter.skip) == SENT_FOR[setting]


@pytest.mark.parametrize("setting", [EmailSetting.ALL, EmailSetting.JOB_COMPLETION])
def test_when_ips_mails_every_outcome_the_submitters_email_is_skipped_at_once(
    setting: EmailSetting,
) -> None:
    (submitter,) = plan(event(EventKind.FINISHED, setting), COMPLEMENT)
    assert submitter.skip == f"IPS mails this outcome itself (emailSetting {setting.value})"


@pytest.mark.parametrize("setting", list(SENT_FOR))
def test_ignore_sends_the_submitter_every_outcome_whatever_ips_mails(
    setting: EmailSetting | None,
) -> None:
    (submitter,) = plan(event(EventKind.FINISHED, setting), IGNORE)
    assert (submitter.outcomes, submitter.skip) == (frozenset(), "")


@pytest.mark.parametrize("kind", [k for k in EventKind if k is not EventKind.FINISHED])
def test_complement_leaves_the_other_events_alone(kind: EventKind) -> None:
    (submitter,) = plan(event(kind, EmailSetting.ALL), COMPLEMENT)
    assert (submitter.outcomes, submitter.skip) == (frozenset(), "")


def test_complement_leaves_route_recipients_alone() -> None:
    failures = Route(to=(TEAM,), outcomes=frozenset({Outcome.FAILED}))
    everything = Route(to=(Recipient(ChannelKind.WEBHOOK, "ops"),))
    rules = replace(COMPLEMENT, routes=(failures, everything))
    submitter, team, ops = plan(event(EventKind.FINISHED, EmailSetting.ALL), rules)
    assert submitter.skip.startswith("IPS mails this outcome itself")
    assert (team.skip, team.outcomes) == ("", {Outcome.FAILED})
    assert (ops.skip, ops.outcomes) == ("", frozenset())


def test_a_route_to_the_submitter_still_gets_what_it_asks_for() -> None:
    ana = Recipient(ChannelKind.EMAIL, ANA.lower(), "pt_BR")
    failures = Route(to=(ana,), outcomes=frozenset({Outcome.FAILED}))
    rules = replace(COMPLEMENT, routes=(failures,))
    (only,) = plan(event(EventKind.FINISHED, EmailSetting.ERROR), rules)
    assert sent_for(only.outcomes, only.skip) == EVERY, "the route asks for failed: all"
    (only,) = plan(event(EventKind.FINISHED, EmailSetting.ALL), rules)
    assert sent_for(only.outcomes, only.skip) == {Outcome.FAILED}


def test_the_rules_reason_comes_first() -> None:
    rules = replace(COMPLEMENT, deny=("@example.com",))
    (submitter,) = plan(event(EventKind.FINISHED, EmailSetting.ALL), rules)
    assert submitter.skip == SKIP_DENIED


def test_the_skip_reason_names_the_setting_for_the_submitter_and_the_route_otherwise() -> None:
    failed = event(EventKind.FINISHED, EmailSetting.ERROR)
    submitter = Recipient(ChannelKind.EMAIL, " ana.silva@example.com")
    assert skip_reason(failed, submitter, Outcome.FAILED) == (
        "IPS mails this outcome itself (emailSetting Error)"
    )
    assert skip_reason(failed, TEAM, Outcome.FAILED) == SKIP_OUTCOME
    assert skip_reason(failed, submitter, Outcome.SUCCEEDED) == SKIP_OUTCOME
    webhook = Recipient(ChannelKind.WEBHOOK, ANA)
    assert skip_reason(failed, webhook, Outcome.FAILED) == SKIP_OUTCOME
