"""Outcomes of finished jobs from getJobLogs: one call per company per round, failures contained."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.events import Completion, Event, EventKind, Outcome, event_id
from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType
from notifier.delivery.completions import JobLogCompletions, resolve_completions
from notifier.ips.client import IpsClient
from notifier.ips.errors import IpsTransportError
from notifier.sim import Outcome as SimOutcome
from notifier.sim import Simulator
from tests import builders

STARTED = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FINISHED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
GRACE = timedelta(minutes=10)


def job(company: str, name: str) -> ActiveJob:
    return ActiveJob(
        company_handle=company,
        job_handle=f"{company}|{name}|",
        name=name,
        original_name=name,
        type=JobType.IMAGE_SERVING_PUBLISH,
        state=JobState.RUNNING,
        submit_user_email="ana@example.com",
        locale="en-US",
        description=None,
        server_name=None,
        start_date=STARTED,
        trigger_time=None,
        total_size=None,
        progress=90,
        progress_message=None,
        last_progress_update=STARTED,
    )


NUMBERS: dict[str, int] = {}
"""Event id -> the number a test gave its finished event, to read results by number."""


def finished(
    number: int,
    company: str,
    name: str,
    *,
    stopped: bool = False,
    listed: ActiveJob | None = None,
    at: datetime = FINISHED,
) -> Event:
    j = listed or job(company, name)
    event = Event(
        id=event_id(company, j.job_handle, 1, EventKind.FINISHED, 0),
        kind=EventKind.FINISHED,
        job=j,
        run=1,
        at=at,
        went_through_stopping=stopped,
    )
    NUMBERS[event.id] = number
    return event


def numbered(resolved: dict[str, Completion]) -> dict[int, Completion]:
    return {NUMBERS[event]: completion for event, completion in resolved.items()}


def job_log(company: str, name: str, *, errors: int = 0, warnings: int = 0) -> JobLog:
    ended = FINISHED - timedelta(minutes=1)
    return builders.job_log(
        company, name, started=STARTED, ended=ended, errors=errors, warnings=warnings
    )


@dataclass
class Call:
    company: str
    start: datetime
    end: datetime | None
    rows: int


@dataclass
class ScriptedJobLogs:
    """An IPS stand-in at the JobLogSource seam: logs per company, or a failure per company."""

    logs: dict[str, list[JobLog]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)

    async def get_job_logs(
        self,
        company_handle: str,
        start_date: datetime,
        end_date: datetime | None = None,
        num_rows: int = 500,
    ) -> list[JobLog]:
        self.calls.append(Call(company_handle, start_date, end_date, num_rows))
        if company_handle in self.failing:
            raise IpsTransportError("connection refused")
        return list(self.logs.get(company_handle, []))


async def test_one_call_per_company_and_outcomes_from_the_logs() -> None:
    source = ScriptedJobLogs(
        logs={
            "47": [job_log("47", "Spring", errors=2), job_log("47", "Summer", warnings=1)],
            "48": [job_log("48", "Autumn")],
        }
    )
    deliveries = [
        finished(1, "47", "Spring"),
        finished(2, "47", "Summer"),
        finished(3, "48", "Autumn"),
    ]

    resolved = numbered(
        await resolve_completions(deliveries, source, FINISHED + timedelta(minutes=1), GRACE)
    )

    assert {i: c.outcome for i, c in resolved.items()} == {
        1: Outcome.FAILED,
        2: Outcome.WARNINGS,
        3: Outcome.SUCCEEDED,
    }
    assert resolved[1].log == source.logs["47"][0]
    assert sorted(call.company for call in source.calls) == ["47", "48"]
    for call in source.calls:
        assert call.start <= STARTED
        assert call.end is not None and call.end >= FINISHED


async def test_a_job_without_its_log_yet_keeps_waiting_within_the_grace_period() -> None:
    source = ScriptedJobLogs(logs={"47": [job_log("47", "Other job")]})

    resolved = numbered(
        await resolve_completions(
            [finished(1, "47", "Spring")], source, FINISHED + GRACE / 2, GRACE
        )
    )

    assert resolved == {}


@pytest.mark.parametrize(
    ("stopped", "outcome"), [(False, Outcome.UNKNOWN), (True, Outcome.STOPPED)]
)
async def test_no_log_after_the_grace_period_resolves_without_one(
    stopped: bool, outcome: Outcome
) -> None:
    source = ScriptedJobLogs()

    resolved = numbered(
        await resolve_completions(
            [finished(1, "47", "Spring", stopped=stopped)], source, FINISHED + GRACE, GRACE
        )
    )

    assert resolved == {1: Completion(outcome=outcome)}


async def test_ips_failing_for_one_company_leaves_only_its_jobs_waiting_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = ScriptedJobLogs(logs={"48": [job_log("48", "Autumn")]}, failing={"47"})
    deliveries = [
        finished(1, "47", "Spring"),
        finished(2, "47", "Summer"),
        finished(3, "48", "Autumn"),
    ]

    resolved = numbered(
        await resolve_completions(deliveries, source, FINISHED + timedelta(minutes=1), GRACE)
    )

    assert set(resolved) == {3}
    failures = [r for r in caplog.records if "company 47" in r.getMessage()]
    assert len(failures) == 1
    assert "2 finished job(s) wait" in failures[0].getMessage()
    assert "connection refused" in failures[0].getMessage()


async def test_ips_still_failing_after_the_grace_period_gives_outcome_unknown() -> None:
    source = ScriptedJobLogs(failing={"47"})

    resolved = numbered(
        await resolve_completions(
            [finished(1, "47", "Spring"), finished(2, "47", "Summer", stopped=True)],
            source,
            FINISHED + GRACE + timedelta(seconds=1),
            GRACE,
        )
    )

    assert resolved == {
        1: Completion(outcome=Outcome.UNKNOWN),
        2: Completion(outcome=Outcome.STOPPED),
    }


async def test_the_bound_resolver_is_what_a_dispatcher_calls() -> None:
    source = ScriptedJobLogs(logs={"47": [job_log("47", "Spring")]})
    completions = JobLogCompletions(source)

    resolved = numbered(await completions([finished(7, "47", "Spring")], FINISHED, GRACE))

    assert resolved[7].outcome is Outcome.SUCCEEDED
    assert resolved[7].duration == timedelta(minutes=59)


async def test_against_ips_over_http_one_companys_fault_does_not_hold_up_another() -> None:
    async with Simulator(jobs=0, companies=["47", "48"]) as sim:
        spring = sim.add_job(company_handle="47", name="Spring", state="Running")
        autumn = sim.add_job(company_handle="48", name="Autumn", state="Running")
        sim.finish_job("47", spring.job_handle, SimOutcome.FAILED)
        sim.finish_job("48", autumn.job_handle, SimOutcome.SUCCEEDED)
        now = datetime.now(UTC)
        deliveries = [
            finished(1, "47", "Spring", listed=spring, at=now),
            finished(2, "48", "Autumn", listed=autumn, at=now),
            finished(3, "99", "Elsewhere", at=now),  # a company this IPS user may not read
        ]
        async with IpsClient(sim.url, "demo@example.com", "demo", timeout=5) as ips:
            resolved = numbered(await resolve_completions(deliveries, ips, now, GRACE))

    assert {i: c.outcome for i, c in resolved.items()} == {
        1: Outcome.FAILED,
        2: Outcome.SUCCEEDED,
    }
    assert resolved[1].log is not None
    assert resolved[1].log.job_handle == spring.job_handle
