"""Routing: which events are mailed at all, by the `[notify]` settings.

Pure: a decision from an event and the rules, with the reason when the answer is no, so
that a skipped delivery says why. Never validates addresses (mail/addresses.py does) and
never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.core.events import Event, EventKind
from notifier.core.jobs import JobType

SKIP_KIND = "event kind not in notify.events"
SKIP_JOB_TYPE = "job type not in notify.job_types"
SKIP_DENIED = "recipient denied by notify.deny"


@dataclass(frozen=True, slots=True)
class RoutingRules:
    """`events`: the kinds mailed. `job_types`: the job types mailed (empty: all).
    `deny`: addresses, or `@domain` for a whole domain, never mailed (case-insensitive).
    """

    events: frozenset[EventKind] = frozenset(
        {EventKind.STARTED, EventKind.FINISHED, EventKind.STALLED}
    )
    job_types: frozenset[JobType] = frozenset()
    deny: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Compared case-insensitively; stored once in the form they are compared in.
        object.__setattr__(self, "deny", tuple(_fold(entry) for entry in self.deny))

    def denies(self, address: str | None) -> bool:
        if not address:
            return False
        folded = _fold(address)
        domain = folded.rpartition("@")[2]
        return any(
            entry == folded or (entry.startswith("@") and entry[1:] == domain)
            for entry in self.deny
        )


@dataclass(frozen=True, slots=True)
class RouteDecision:
    send: bool
    reason: str = ""


SEND = RouteDecision(send=True)


def route(event: Event, rules: RoutingRules) -> RouteDecision:
    """Send, or skip with the reason of the first rule that said no."""
    if event.kind not in rules.events:
        return RouteDecision(send=False, reason=SKIP_KIND)
    if rules.job_types and event.job.type not in rules.job_types:
        return RouteDecision(send=False, reason=SKIP_JOB_TYPE)
    if rules.denies(event.job.submit_user_email):
        return RouteDecision(send=False, reason=SKIP_DENIED)
    return SEND


def _fold(text: str) -> str:
    return text.strip().casefold()
