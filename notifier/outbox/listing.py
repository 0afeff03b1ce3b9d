"""How `notifier outbox list` shows deliveries: a table that fits the terminal, or one JSON
document for scripts.

The JSON keys are an interface (scripts read them): `store`, `deliveries` (each with `id`,
`status`, `channel`, `recipient`, `event`, `event_id`, `company`, `job_handle`,
`job_name`, `attempts`, `created_at`, `pending_since`, `updated_at`, `next_attempt_at`,
`reason`, `receipt`; times ISO 8601 in UTC, absent values null) and `truncated` (more
matched than were listed). Text from IPS never reaches the terminal with control characters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notifier.core.routing import WEBHOOK_PREFIX, ChannelKind, Recipient
from notifier.outbox.columns import Column, table
from notifier.store.protocol import OWED, Delivery

COLUMNS = (
    Column("ID"),
    Column("STATUS"),
    Column("TRIES"),
    Column("WHEN (UTC)"),
    Column("EVENT"),
    Column("RECIPIENT", most=40, least=12),
    Column("JOB", most=32, least=8),
    Column("REASON", least=20),
)
"""WHEN is the next attempt of an owed delivery (pending, held), else when it was sent,
given up or skipped."""


def text_lines(deliveries: list[Delivery], width: int) -> list[str]:
    return table(COLUMNS, [_row(d) for d in deliveries], width)


def document(store: Path, deliveries: list[Delivery], *, truncated: bool) -> str:
    return json.dumps(
        {
            "store": str(store),
            "deliveries": [as_json(d) for d in deliveries],
            "truncated": truncated,
        },
        ensure_ascii=False,
        indent=2,
    )


def as_json(d: Delivery) -> dict[str, Any]:
    job = d.event.job
    return {
        "id": d.id,
        "status": d.status.value,
        "channel": d.channel.value,
        "recipient": shown_recipient(d.recipient),
        "event": d.event.kind.value,
        "event_id": d.event.id,
        "company": job.company_handle,
        "job_handle": job.job_handle,
        "job_name": job.name,
        "attempts": d.attempts,
        "created_at": _iso(d.created_at),
        "pending_since": _iso(d.pending_since),
        "updated_at": _iso(d.updated_at),
        "next_attempt_at": _iso(d.next_attempt_at) if d.status in OWED else None,
        "reason": d.last_error,
        "receipt": d.receipt,
    }


def shown_recipient(to: Recipient) -> str:
    """As a route's `to` writes it: an address, or `webhook:<name>`."""
    if to.channel is ChannelKind.WEBHOOK:
        return f"{WEBHOOK_PREFIX}{to.address}"
    return to.address


def printable(text: str) -> str:
    """Job fields come from IPS: keep terminal control characters out of the operator's tty."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def utc_text(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _row(d: Delivery) -> tuple[str, ...]:
    when = d.next_attempt_at if d.status in OWED else d.updated_at
    return (
        str(d.id),
        d.status.value,
        str(d.attempts),
        utc_text(when),
        d.event.kind.value,
        printable(shown_recipient(d.recipient)) or "-",
        printable(d.event.job.name) or printable(d.event.job.job_handle),
        printable(" ".join((d.last_error or d.receipt or "").split())),
    )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()
