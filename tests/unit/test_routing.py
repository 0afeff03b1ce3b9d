"""Which events are mailed, by notify.events, notify.job_types and notify.deny."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from notifier.core.events import Event, EventKind, event_id
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.routing import (
    SKIP_DENIED,
    SKIP_JOB_TYPE,
    SKIP_KIND,
    RouteDecision,
    RoutingRules,
    route,
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
