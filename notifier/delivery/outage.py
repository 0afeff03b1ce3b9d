"""Outages of the far ends (the mail server, each webhook): known, told once, and over.

A far end is *down* from the first attempt that failed it as a whole (`RetryLater` with
`outage=True`) until the next success there. The tracker says so in the log once, at
WARNING, naming the far end and the error, then reminds at most every `remind_every`
(the attempts in between are DEBUG lines only), and says at INFO when it works again. It
answers what is down now (for /readyz) and calls a hook with every change and every
success (for the gauges `notifier_smtp_up`, `notifier_webhook_up`,
`notifier_last_successful_send_timestamp_seconds`).

A value the delivery loop owns; no I/O beyond logging, never touches the store. The first
success since start counts as "back" too (the far end's past is unknown after a restart).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.core.routing import ChannelKind
from notifier.delivery.retry import span

log = logging.getLogger(__name__)

REMIND_EVERY = timedelta(minutes=5)
"""How often an outage that goes on is told again."""

Scope = tuple[ChannelKind, str | None]
"""Where an outage applies: (email, None) is the mail server; (webhook, name) one webhook."""

FarEndHook = Callable[[ChannelKind, str | None, bool, datetime], None]
"""Called with the channel, the webhook's name (None for email), up or not, and when: on
each success (True) and at the start of an outage (False)."""


@dataclass(frozen=True, slots=True)
class Outage:
    """One far end down: `where` names it ("SMTP server mail.example.com:25"), `reason`
    is the latest error, `failures` the attempts that met it."""

    scope: Scope
    where: str
    reason: str
    since: datetime
    failures: int
    told_at: datetime

    def describe(self, now: datetime) -> str:
        """One line for /readyz and the log: the far end, for how long, the error."""
        return f"{_named(self.where, self.reason)} (failing for {span(now - self.since)})"


class OutageTracker:
    """Up or down per far end, told in the log once per outage and change."""

    def __init__(
        self, *, remind_every: timedelta = REMIND_EVERY, on_change: FarEndHook | None = None
    ) -> None:
        self._remind_every = remind_every
        self._on_change = on_change
        self._down: dict[Scope, Outage] = {}
        self._seen_up: set[Scope] = set()

    def failed(self, scope: Scope, where: str, reason: str, now: datetime) -> None:
        """An attempt found the far end failing as a whole."""
        self._seen_up.discard(scope)
        outage = self._down.get(scope)
        if outage is None:
            self._down[scope] = Outage(scope, where, reason, now, 1, now)
            log.warning(
                "%s; deliveries there stay pending and are retried (reminder every %s, "
                "a line when it works again)",
                _named(where, reason),
                span(self._remind_every),
            )
            if self._on_change is not None:
                self._on_change(scope[0], scope[1], False, now)
            return
        failures = outage.failures + 1
        told_at = outage.told_at
        if now - told_at >= self._remind_every:
            told_at = now
            log.warning(
                "%s: still failing after %s (%d attempts): %s",
                where,
                span(now - outage.since),
                failures,
                reason,
            )
        else:
            log.debug("%s still failing (%d attempts): %s", where, failures, reason)
        self._down[scope] = Outage(scope, where, reason, outage.since, failures, told_at)

    def succeeded(self, scope: Scope, now: datetime) -> Outage | bool:
        """A message went through. The outage it ended, True for the first success since
        start, else False (nothing changed)."""
        if self._on_change is not None:
            self._on_change(scope[0], scope[1], True, now)
        outage = self._down.pop(scope, None)
        if outage is not None:
            self._seen_up.add(scope)
            log.info(
                "%s works again after %s (%d attempts failed)",
                outage.where,
                span(now - outage.since),
                outage.failures,
            )
            return outage
        if scope in self._seen_up:
            return False
        self._seen_up.add(scope)
        return True

    def current(self) -> list[Outage]:
        """The far ends down now, longest first."""
        return sorted(self._down.values(), key=lambda outage: outage.since)


def _named(where: str, reason: str) -> str:
    """The error, with the far end's name in front unless it already says it."""
    return reason if where in reason else f"{where}: {reason}"
