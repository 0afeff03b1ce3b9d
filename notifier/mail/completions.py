"""Completions of `finished` deliveries: their outcome, read from the IPS job logs.

Owns the fetching side: the pending finished deliveries are grouped by company, and each
company costs ONE getJobLogs call per round (companies asked concurrently), over the window
core/outcome.py computes from the events; matching and outcome are core/outcome.py's (pure).
An IPS failure for one company leaves its deliveries waiting (logged once per round, not
once per delivery); the other companies proceed. Past the grace period, a delivery whose
logs cannot be had is resolved without a log (`unknown`, or `stopped`), so no email waits
forever.
Never sends mail and never writes to the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from notifier.core.events import Completion, Outcome
from notifier.core.jobs import JobLog
from notifier.core.outcome import job_log_window, resolve_completion
from notifier.ips.errors import IpsError
from notifier.store.protocol import Delivery

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
    deliveries: Sequence[Delivery], source: JobLogSource, now: datetime, grace: timedelta
) -> dict[int, Completion]:
    """The completions known now, by delivery id; deliveries still waiting are left out."""
    by_company: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.completion is None:
            by_company[delivery.event.job.company_handle].append(delivery)
    async with asyncio.TaskGroup() as group:
        # Companies are asked at the same time: one slow company does not hold up another.
        fetches = {
            company: group.create_task(_job_logs(source, company, waiting))
            for company, waiting in by_company.items()
        }
    resolved: dict[int, Completion] = {}
    for company, waiting in by_company.items():
        logs = fetches[company].result()
        for delivery in waiting:
            completion = _completion(delivery, logs, now, grace)
            if completion is not None:
                resolved[delivery.id] = completion
    return resolved


@dataclass(frozen=True, slots=True)
class JobLogCompletions:
    """`resolve_completions` bound to one source: what the dispatcher calls each round."""

    source: JobLogSource

    async def __call__(
        self, deliveries: Sequence[Delivery], now: datetime, grace: timedelta
    ) -> dict[int, Completion]:
        return await resolve_completions(deliveries, self.source, now, grace)


async def _job_logs(
    source: JobLogSource, company: str, waiting: Sequence[Delivery]
) -> list[JobLog] | None:
    """The company's logs over the window of its waiting events; None when IPS failed."""
    start, end = job_log_window(delivery.event for delivery in waiting)
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
    delivery: Delivery, logs: list[JobLog] | None, now: datetime, grace: timedelta
) -> Completion | None:
    event = delivery.event
    if logs is not None:
        return resolve_completion(event, logs, now, grace)
    if now - event.at < grace:
        return None
    # IPS kept failing for the whole grace period: say what we know rather than nothing.
    without_log = resolve_completion(event, [], now, grace)
    return without_log if without_log is not None else Completion(outcome=Outcome.UNKNOWN)
