"""Who hears of which event: the submitter by notify.events, notify.job_types and
notify.deny (off with notify.submitter = false), and the recipients of [[route]] tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from notifier.core.events import Event, EventKind, Outcome, event_id
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import (
    SKIP_DENIED,
    SKIP_JOB_TYPE,
    SKIP_KIND,
    ChannelKind,
    PlannedDelivery,
    Recipient,
    Route,
    RouteDecision,
    RoutingRules,
    plan,
    recipient,
    route,
    wanted,
)

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

JOB = ActiveJob(
    company_handle="47",
    job_handle="47|Spring catalogue|",
    name="Spring catalogue",
    original_name="Spring catalogue",
    type=JobType.IMAGE_SERVING_PUBLISH,
    state=JobState.RUNNING,
    submit_user_email="Ana.Silva@Example.COM",
    locale="pt-BR",
    description=None,
    server_name=None,
    start_date=AT,
    trigger_time=None,
    total_size=None,
    progress=10,
    progress_message=None,
    last_progress_update=AT,
)


def event(
    kind: EventKind = EventKind.STARTED,
    job_type: JobType = JobType.IMAGE_SERVING_PUBLISH,
    email: str | None = "Ana.Silva@Example.COM",
) -> Event:
    job = replace(JOB, type=job_type, submit_user_email=email)
    return Event(
        id=event_id(job.company_handle, job.job_handle, 1, kind, 0),
        kind=kind,
        job=job,
        run=1,
        at=AT,
    )


DEFAULT = RoutingRules()
UPLOADS_ONLY = RoutingRules(job_types=frozenset({JobType.UPLOAD_FROM_SERVER_DIRECTORY}))
EVERYTHING = RoutingRules(events=frozenset(EventKind))
DENY_ANA = RoutingRules(deny=("ana.silva@example.com",))
DENY_DOMAIN = RoutingRules(deny=(" @EXAMPLE.com ",))
DENY_OTHER_DOMAIN = RoutingRules(deny=("@mail.example.com", "bob@example.com"))

SEND = RouteDecision(send=True)


def skip(reason: str) -> RouteDecision:
    return RouteDecision(send=False, reason=reason)


@pytest.mark.parametrize(
    ("rules", "evt", "expected"),
    [
        # notify.events: the default mails started, finished and stalled, nothing else.
        (DEFAULT, event(EventKind.STARTED), SEND),
        (DEFAULT, event(EventKind.FINISHED), SEND),
        (DEFAULT, event(EventKind.STALLED), SEND),
        (DEFAULT, event(EventKind.QUEUED), skip(SKIP_KIND)),
        (DEFAULT, event(EventKind.PROGRESS), skip(SKIP_KIND)),
        (DEFAULT, event(EventKind.STOPPING), skip(SKIP_KIND)),
        (EVERYTHING, event(EventKind.PROGRESS), SEND),
        (RoutingRules(events=frozenset()), event(EventKind.FINISHED), skip(SKIP_KIND)),
        # notify.job_types: empty means every type, including ones IPS added later.
        (DEFAULT, event(job_type=JobType.UNRECOGNIZED), SEND),
        (UPLOADS_ONLY, event(job_type=JobType.UPLOAD_FROM_SERVER_DIRECTORY), SEND),
        (UPLOADS_ONLY, event(job_type=JobType.IMAGE_SERVING_PUBLISH), skip(SKIP_JOB_TYPE)),
        (UPLOADS_ONLY, event(job_type=JobType.UNRECOGNIZED), skip(SKIP_JOB_TYPE)),
        # notify.deny: whole addresses or @domain, whatever the case, nothing else.
        (DENY_ANA, event(), skip(SKIP_DENIED)),
        (DENY_ANA, event(email=" ANA.SILVA@example.com "), skip(SKIP_DENIED)),
        (DENY_ANA, event(email="ana.silva@example.org"), SEND),
        (DENY_DOMAIN, event(), skip(SKIP_DENIED)),
        (DENY_DOMAIN, event(email="someone@example.com"), skip(SKIP_DENIED)),
        (DENY_DOMAIN, event(email="someone@notexample.com"), SEND),
        (DENY_OTHER_DOMAIN, event(), SEND),
        (DENY_OTHER_DOMAIN, event(email="x@mail.example.com"), skip(SKIP_DENIED)),
        (DENY_ANA, event(email=None), SEND),
        # The first rule that says no gives the reason.
        (
            RoutingRules(job_types=frozenset({JobType.CLEANUP}), deny=("@example.com",)),
            event(EventKind.QUEUED),
            skip(SKIP_KIND),
        ),
        (
            RoutingRules(job_types=frozenset({JobType.CLEANUP}), deny=("@example.com",)),
            event(),
            skip(SKIP_JOB_TYPE),
        ),
    ],
)
def test_route(rules: RoutingRules, evt: Event, expected: RouteDecision) -> None:
    assert route(evt, rules) == expected


def test_skip_reasons_name_the_setting_to_change() -> None:
    assert "notify.events" in SKIP_KIND
    assert "notify.job_types" in SKIP_JOB_TYPE
    assert "notify.deny" in SKIP_DENIED


# --- plans: the submitter and the [[route]] tables -----------------------------------------

TEAM = Recipient(ChannelKind.EMAIL, "dam-team@example.com", "de")
OPS = Recipient(ChannelKind.WEBHOOK, "ops", "en")


def failures_to(*to: Recipient, companies: frozenset[str] = frozenset()) -> Route:
    return Route(
        to=to,
        events=frozenset({EventKind.FINISHED}),
        companies=companies,
        outcomes=frozenset({Outcome.FAILED, Outcome.WARNINGS}),
    )


def recipients(planned: list[PlannedDelivery]) -> list[tuple[str, str, str]]:
    return [(p.recipient.channel.value, p.recipient.address, p.skip) for p in planned]


def test_the_submitter_alone_without_routes_as_before() -> None:
    planned = plan(event(EventKind.STARTED), RoutingRules())
    assert recipients(planned) == [("email", "Ana.Silva@Example.COM", "")]
    assert planned[0].recipient.locale is None, "the job's own language"


def test_a_route_adds_its_recipients_in_its_language_and_for_its_outcomes() -> None:
    rules = RoutingRules(routes=(failures_to(TEAM, OPS),))
    planned = plan(event(EventKind.FINISHED), rules)
    assert recipients(planned) == [
        ("email", "Ana.Silva@Example.COM", ""),
        ("email", "dam-team@example.com", ""),
        ("webhook", "ops", ""),
    ]
    assert [p.recipient.locale for p in planned] == [None, "de", "en"]
    assert planned[0].outcomes == frozenset(), "the submitter hears of every outcome"
    assert planned[1].outcomes == {Outcome.FAILED, Outcome.WARNINGS}


def test_a_route_matches_only_its_events_and_companies() -> None:
    rules = RoutingRules(routes=(failures_to(TEAM, companies=frozenset({"48"})),))
    assert len(plan(event(EventKind.FINISHED), rules)) == 1
    rules = RoutingRules(routes=(failures_to(TEAM),))
    assert len(plan(event(EventKind.STARTED), rules)) == 1


def test_a_recipient_of_several_routes_gets_one_delivery_with_the_first_routes_language() -> None:
    english = Recipient(ChannelKind.EMAIL, "DAM-Team@example.com", "en")
    everything = Route(to=(english,), events=frozenset({EventKind.FINISHED}))
    rules = RoutingRules(routes=(failures_to(TEAM), everything))
    planned = plan(event(EventKind.FINISHED), rules)
    team = [p for p in planned if p.recipient.key == TEAM.key]
    assert len(team) == 1
    assert team[0].recipient.locale == "de"
    assert team[0].outcomes == frozenset(), "one unfiltered route: every outcome"


def test_the_submitter_in_a_route_is_mailed_once() -> None:
    same = Recipient(ChannelKind.EMAIL, "ana.silva@example.com", "de")
    rules = RoutingRules(routes=(Route(to=(same,)),))
    assert recipients(plan(event(EventKind.STARTED), rules)) == [
        ("email", "Ana.Silva@Example.COM", "")
    ]


def test_submitter_false_leaves_only_the_routes() -> None:
    rules = RoutingRules(submitter=False, routes=(failures_to(TEAM),))
    assert recipients(plan(event(EventKind.FINISHED), rules)) == [
        ("email", "dam-team@example.com", "")
    ]
    assert plan(event(EventKind.STARTED), rules) == []


def test_a_submitter_the_rules_exclude_is_planned_skipped_with_the_reason() -> None:
    rules = RoutingRules(deny=("@example.com",), routes=(failures_to(TEAM),))
    planned = plan(event(EventKind.FINISHED), rules)
    assert recipients(planned) == [
        ("email", "Ana.Silva@Example.COM", SKIP_DENIED),
        ("email", "dam-team@example.com", ""),
    ]


def test_a_route_decides_for_a_submitter_notify_excludes() -> None:
    ana = Recipient(ChannelKind.EMAIL, "Ana.Silva@Example.COM", "pt_BR")
    rules = RoutingRules(
        events=frozenset({EventKind.STARTED}),
        routes=(Route(to=(ana,), events=frozenset({EventKind.FINISHED})),),
    )
    assert recipients(plan(event(EventKind.FINISHED), rules)) == [
        ("email", "Ana.Silva@Example.COM", "")
    ]


def test_outcomes_narrow_only_finished_and_wanted_reads_them() -> None:
    rules = RoutingRules(routes=(Route(to=(TEAM,), outcomes=frozenset({Outcome.FAILED})),))
    started = [p for p in plan(event(EventKind.STARTED), rules) if p.recipient == TEAM]
    assert started[0].outcomes == frozenset()
    assert wanted(frozenset({Outcome.FAILED}), Outcome.FAILED)
    assert not wanted(frozenset({Outcome.FAILED}), Outcome.SUCCEEDED)
    assert wanted(frozenset(), Outcome.SUCCEEDED)


def test_a_to_entry_is_an_address_or_a_webhook_by_name() -> None:
    assert recipient("webhook:ops", "de") == Recipient(ChannelKind.WEBHOOK, "ops", "de")
    assert recipient(" team@example.com ") == Recipient(ChannelKind.EMAIL, "team@example.com")
