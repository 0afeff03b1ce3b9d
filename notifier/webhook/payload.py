"""The `json` webhook payload: our own body for one event, or for one digest.

Stable keys, documented in README ("Webhooks"); `version` changes only when a key's meaning
does. Times are ISO 8601 in UTC ("2026-12-01T09:00:00Z"); absent values are null, never
missing. `id` is the event's id (a digest's own id for a digest): the receiver's
idempotency key, sent again as `X-Notifier-Event-Id`. IPS text goes in as IPS wrote it
(JSON escapes it); never contains anything of the webhook's configuration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.core.events import Completion, Event, EventKind
from notifier.core.jobs import ActiveJob, JobLog
from notifier.mail.digest_summary import Held, latest_per_run
from notifier.mail.render import status_of

VERSION = 1
DIGEST_EVENT = "digest"

Payload = dict[str, Any]


def event_payload(event: Event, completion: Completion | None) -> Payload:
    """The body of the POST about one event."""
    finished = event.kind is EventKind.FINISHED
    return {
        "version": VERSION,
        "id": event.id,
        "event": event.kind.value,
        "outcome": status_of(event, completion) if finished else None,
        "occurred_at": iso(event.at),
        "run_id": event.thread_id,
        "progress": event.detail if event.kind is EventKind.PROGRESS else None,
        "job": _job(event.job, event.run),
        "ended_at": iso(completion.ended_at) if completion else None,
        "duration_seconds": _seconds(completion.duration) if completion else None,
        "counts": _counts(completion.log) if completion and completion.log else None,
    }


def digest_payload(digest_id: str, items: Sequence[Held], at: datetime) -> Payload:
    """The body of the POST of one digest: every job run listed, by its latest event;
    `already_sent` marks those the receiver already had in a POST of their own."""
    events = [
        {**event_payload(item.event, item.completion), "already_sent": item.already_sent}
        for item in latest_per_run(items)
    ]
    return {
        "version": VERSION,
        "id": digest_id,
        "event": DIGEST_EVENT,
        "occurred_at": iso(at),
        "count": len(events),
        "events": events,
    }


def encode(payload: Payload) -> bytes:
    """The raw body that is signed and sent: compact UTF-8 JSON."""
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON's \u escapes still carry it
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _job(job: ActiveJob, run: int) -> Payload:
    return {
        "company_handle": job.company_handle,
        "job_handle": job.job_handle,
        "run": run,
        "name": job.name,
        "original_name": job.original_name,
        "type": job.type_raw or job.type.value,
        "state": job.state_raw or job.state.value,
        "submit_user_email": job.submit_user_email,
        "locale": job.locale,
        "description": job.description,
        "server_name": job.server_name,
        "start_date": iso(job.start_date),
        "trigger_time": iso(job.trigger_time),
        "total_size": job.total_size,
        "progress": job.progress,
        "progress_message": job.progress_message,
        "last_progress_update": iso(job.last_progress_update),
    }


def _counts(log: JobLog) -> Payload:
    return {
        "files_succeeded": log.file_success_count,
        "files_with_warnings": log.file_warning_count,
        "files_with_errors": log.file_error_count,
        "files_duplicate": log.file_duplicate_count,
        "files_updated": log.file_update_count,
        "files_total": log.total_file_count,
        "transfers_succeeded": log.transfer_success_count,
        "transfers_with_warnings": log.transfer_warning_count,
        "transfers_with_errors": log.transfer_error_count,
        "fatal_error": log.fatal_error,
    }


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()
