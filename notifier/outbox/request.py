"""What an operator asks `notifier outbox` for, read from the command line's words.

Owns the meaning of `--status` (repeatable, or a comma list), `--to` (an address, or
`webhook:<name>`), `--job` (a job's handle or name) and `--since` (an ISO 8601 date or
time, UTC unless it says otherwise, or a duration back from now: 90s, 30m, 2h, 7d, 1w).
Bad words are an `OutboxUsageError` naming the option and what it accepts; never touches
the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from notifier.core.routing import recipient
from notifier.store.protocol import DeliveryQuery, DeliveryStatus

LISTED = (
    DeliveryStatus.PENDING,
    DeliveryStatus.HELD,
    DeliveryStatus.DEAD,
    DeliveryStatus.SKIPPED,
)
"""What `outbox list` shows without --status: everything not (yet) sent."""

DEFAULT_QUERY = DeliveryQuery(LISTED)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATIONS = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class Action(StrEnum):
    LIST = "list"
    SHOW = "show"
    RETRY = "retry"
    DROP = "drop"


class OutboxUsageError(ValueError):
    """A word on the command line that `notifier outbox` cannot take."""


@dataclass(frozen=True, slots=True)
class OutboxRequest:
    action: Action
    delivery_id: int | None = None
    query: DeliveryQuery = DEFAULT_QUERY
    as_json: bool = False

    @property
    def narrowed(self) -> bool:
        """True when the operator asked for something other than the default listing."""
        return self.query != DEFAULT_QUERY


def request(
    action: str,
    delivery_id: int | None = None,
    *,
    statuses: Sequence[str] = (),
    to: str | None = None,
    job: str | None = None,
    since: str | None = None,
    as_json: bool = False,
    now: datetime | None = None,
) -> OutboxRequest:
    """The request the words make; raises OutboxUsageError."""
    chosen = Action(action)
    if chosen is not Action.LIST and delivery_id is None:
        raise OutboxUsageError(f"{chosen.value}: give the delivery ID")
    query = DeliveryQuery(
        statuses=parse_statuses(statuses),
        recipient=recipient(to.strip()) if to and to.strip() else None,
        job=job if job else None,
        since=parse_since(since, now or datetime.now(UTC)) if since else None,
    )
    return OutboxRequest(chosen, delivery_id, query, as_json)


def parse_statuses(words: Sequence[str]) -> tuple[DeliveryStatus, ...]:
    """`["sent", "dead,skipped"]` -> (sent, dead, skipped); none -> LISTED."""
    found: list[DeliveryStatus] = []
    for word in words:
        for part in word.split(","):
            name = part.strip().lower()
            if not name:
                continue
            try:
                status = DeliveryStatus(name)
            except ValueError:
                known = "|".join(s.value for s in DeliveryStatus)
                raise OutboxUsageError(
                    f"--status {part.strip()!r}: expected {known} (repeat it, or a comma list)"
                ) from None
            if status not in found:
                found.append(status)
    return tuple(found) or LISTED


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO 8601 date or time (UTC when it has no offset), or a duration before `now`."""
    word = text.strip()
    duration = _duration(word)
    if duration is not None:
        return now - duration
    try:
        at = datetime.fromisoformat(word)
    except ValueError:
        raise OutboxUsageError(
            f"--since {text!r}: expected an ISO date or time (2026-03-01, 2026-03-01T08:00, "
            "2026-03-01T08:00+01:00) or a duration back from now (90s, 30m, 2h, 7d, 1w)"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _duration(word: str) -> timedelta | None:
    text = word.lower().replace(" ", "")
    if not _DURATIONS.fullmatch(text):
        return None
    seconds = sum(float(p.group(1)) * _UNIT[p.group(2)] for p in _DURATION.finditer(text))
    return timedelta(seconds=seconds)
