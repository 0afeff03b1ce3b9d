"""Completions of `finished` events: their outcome, read from the IPS job logs.

A `finished` event's deliveries are not ready before its outcome is known. Owns the
fetching side: the finished events still waiting are grouped by company, and each
company costs ONE getJobLogs call per round (companies asked concurrently), over the window
core/outcome.py computes from the events; matching and outcome are core/outcome.py's (pure).
An IPS failure for one company leaves its events waiting (logged once per round, not
once per event); the other companies proceed. Past the grace period, an event whose
logs cannot be had is resolved without a log (`unknown`, or `stopped`), so no email waits
forever.
Never sends anything and never writes to the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from notifier.core.events import Completion, Event, Outcome
from notifier.core.jobs import JobLog
from notifier.core.outcome import job_log_window, resolve_completion
from notifier.ips.errors import IpsError

log = logging.getLogger(__name__)

JOB_LOG_ROWS = 500


class JobLogSource(Protocol):
    """Where job logs come from (notifier.ips.client.IpsClient satisfies it)."""

    async def get_job_logs(
        self,
        company_handle: str,
        start_date: datetime,
        end_date: datetime | None = None,
        num_rows: int = 500,
    ) -> list[JobLog]: ...


async def resolve_completions(
    events: Sequence[Event], source: JobLogSource, now: datetime, grace: timedelta
) -> dict[str, Completion]:
    """The completions known now, by event id; events still waiting are left out."""
    by_company: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_company[event.job.company_handle].append(event)
    async with asyncio.TaskGroup() as group:
        # Companies are asked at the same time: one slow company does not hold up another.
        fetches = {
            company: group.create_task(_job_logs(source, company, waiting))
            for company, waiting in by_company.items()
        }
    resolved: dict[str, Completion] = {}
    for company, waiting in by_company.items():
        logs = fetches[company].result()
        for event in waiting:
            completion = _completion(event, logs, now, grace)
            if completion is not None:
                resolved[event.id] = completion
    return resolved


@dataclass(frozen=True, slots=True)
class JobLogCompletions:
    """`resolve_completions` bound to one source: what the delivery loop calls each round."""

    source: JobLogSource

    async def __call__(
        self, events: Sequence[Event], now: datetime, grace: timedelta
    ) -> dict[str, Completion]:
        return await resolve_completions(events, self.source, now, grace)


def without_log(event: Event, now: datetime) -> Completion:
    """What is known of a finished job when there is no job log source at all."""
    known = resolve_completion(event, [], now, timedelta(0))
    return known if known is not None else Completion(outcome=Outcome.UNKNOWN)


async def _job_logs(
    source: JobLogSource, company: str, waiting: Sequence[Event]
) -> list[JobLog] | None:
    """The company's logs over the window of its waiting events; None when IPS failed."""
    start, end = job_log_window(waiting)
    try:
        return await source.get_job_logs(company, start, end, JOB_LOG_ROWS)
    except IpsError as exc:
        log.warning(
            "job logs of company %s unavailable, %d finished job(s) wait for their outcome: %s",
            company,
            len(waiting),
            exc,
        )
        return None


def _completion(
    event: Event, logs: list[JobLog] | None, now: datetime, grace: timedelta
) -> Completion | None:
    if logs is not None:
        return resolve_completion(event, logs, now, grace)
    if now - event.at < grace:
        return None
    # IPS kept failing for the whole grace period: say what we know rather than nothing.
    without = resolve_completion(event, [], now, grace)
    return without if without is not None else Completion(outcome=Outcome.UNKNOWN)
