"""Held events as the delivery loop hands them to a channel: for digest and webhook tests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from notifier.core.events import EventKind, Outcome, event_id
from notifier.delivery.channel import Item
from notifier.mail.preview import sample_completion, sample_event

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def held(
    name: str,
    kind: EventKind = EventKind.FINISHED,
    outcome: Outcome | None = Outcome.SUCCEEDED,
    *,
    locale: str | None = "en-US",
    minute: int = 0,
    handle: str | None = None,
) -> Item:
    """One held event of the job run `name` (its handle too, unless given), `minute`s after T0."""
    event = sample_event(kind, locale)
    job_handle = handle or f"47|{name}|"
    job = dataclasses.replace(event.job, name=name, original_name=name, job_handle=job_handle)
    at = T0 + timedelta(minutes=minute)
    event = dataclasses.replace(
        event,
        job=job,
        at=at,
        id=event_id(job.company_handle, job.job_handle, 1, kind, event.detail),
    )
    if kind is not EventKind.FINISHED or outcome is None:
        return Item(event)
    completion = dataclasses.replace(sample_completion(outcome), ended_at=at)
    return Item(event, completion)


def burst(failed: int, succeeded: int, *, locale: str | None = "en-US") -> list[Item]:
    """`failed + succeeded` jobs that finished one minute apart, failures interleaved."""
    outcomes = [Outcome.FAILED] * failed + [Outcome.SUCCEEDED] * succeeded
    order = sorted(range(len(outcomes)), key=lambda i: (i % 3, i))  # mix the two
    return [
        held(f"Job {n:02d}", outcome=outcomes[i], locale=locale, minute=n)
        for n, i in enumerate(order)
    ]
