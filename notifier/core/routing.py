"""Routing: who is told about an event, on which channel, in which language.

Pure: from an event and the rules, the deliveries it implies (`plan`), each with the reason
when a submitter's email is not sent, so that a skipped delivery says why. Two sources of
recipients: the job's submitter (`[notify]`: events, job types, deny; off with
`notify.submitter = false`; in `notify.ips_emails = "complement"`, not for the finished
outcomes IPS mails itself), and the `[[route]]` tables (companies, job types, events,
outcomes, to, locale). A recipient matched more than once gets one delivery per event: the
submitter's first, then the routes' in file order, and the first one's language wins.

Never validates addresses (mail/addresses.py does) and never does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from notifier.core.events import Event, EventKind, Outcome
from notifier.core.ips_emails import IpsEmails, ips_mails_itself, ips_mails_outcome
from notifier.core.jobs import EmailSetting, JobType

SKIP_KIND = "event kind not in notify.events"
SKIP_JOB_TYPE = "job type not in notify.job_types"
SKIP_DENIED = "recipient denied by notify.deny"
SKIP_OUTCOME = "outcome not in the route's outcomes"
SKIP_IPS_MAILS = "IPS mails this outcome itself (emailSetting {setting})"

WEBHOOK_PREFIX = "webhook:"
DEFAULT_EVENTS = frozenset({EventKind.STARTED, EventKind.FINISHED, EventKind.STALLED})


class ChannelKind(StrEnum):
    """How a delivery travels (the `channel` column of the outbox and label of the metrics)."""

    EMAIL = "email"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a delivery is for. `address`: an email address for `email` (the submitter's as
    IPS wrote it, unvalidated), the webhook's name for `webhook`. `locale`: the language a
    route asks for; None for the submitter, who gets the job's own `locale`."""

    channel: ChannelKind
    address: str
    locale: str | None = None

    @property
    def key(self) -> tuple[ChannelKind, str]:
        """What makes two recipients the same one (addresses compare case-insensitively)."""
        return self.channel, _fold(self.address)


def recipient(entry: str, locale: str | None = None) -> Recipient:
    """A `to` entry of a route: an email address, or `webhook:<name>`."""
    if entry.startswith(WEBHOOK_PREFIX):
        return Recipient(ChannelKind.WEBHOOK, entry[len(WEBHOOK_PREFIX) :], locale)
    return Recipient(ChannelKind.EMAIL, entry.strip(), locale)


@dataclass(frozen=True, slots=True)
class Route:
    """One `[[route]]` table. Empty `companies`, `job_types` or `outcomes` match all;
    `outcomes` only narrow `finished` events."""

    to: tuple[Recipient, ...]
    events: frozenset[EventKind] = DEFAULT_EVENTS
    companies: frozenset[str] = frozenset()
    job_types: frozenset[JobType] = frozenset()
    outcomes: frozenset[Outcome] = frozenset()

    def matches(self, event: Event) -> bool:
        """Whether the event concerns this route (the outcome is checked once it is known)."""
        job = event.job
        return (
            event.kind in self.events
            and (not self.companies or job.company_handle in self.companies)
            and (not self.job_types or job.type in self.job_types)
        )


@dataclass(frozen=True, slots=True)
class RoutingRules:
    """`events`: the kinds mailed to submitters. `job_types`: the job types mailed (empty:
    all). `deny`: addresses, or `@domain` for a whole domain, never mailed (case-insensitive).
    `submitter`: whether submitters are mailed at all. `ips_emails`: in "complement", the
    submitter's `finished` email is not sent for the outcomes IPS mails itself. `routes`: the
    `[[route]]` tables.
    """

    events: frozenset[EventKind] = DEFAULT_EVENTS
    job_types: frozenset[JobType] = frozenset()
    deny: tuple[str, ...] = ()
    submitter: bool = True
    ips_emails: IpsEmails = IpsEmails.IGNORE
    routes: tuple[Route, ...] = ()

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


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """One delivery an event implies. `outcomes`: for `finished`, the outcomes it is sent for
    (empty: all); `skip`: why it is recorded as skipped instead of sent (empty: it is sent)."""

    event_id: str
    recipient: Recipient
    outcomes: frozenset[Outcome] = frozenset()
    skip: str = ""


def route(event: Event, rules: RoutingRules) -> RouteDecision:
    """Whether the submitter is mailed: send, or skip with the reason of the first rule that
    said no."""
    if event.kind not in rules.events:
        return RouteDecision(send=False, reason=SKIP_KIND)
    if rules.job_types and event.job.type not in rules.job_types:
        return RouteDecision(send=False, reason=SKIP_JOB_TYPE)
    if rules.denies(event.job.submit_user_email):
        return RouteDecision(send=False, reason=SKIP_DENIED)
    return SEND


def plan(event: Event, rules: RoutingRules) -> list[PlannedDelivery]:
    """Every delivery `event` implies, one per recipient.

    The submitter's is planned even when the rules skip it (with the reason), as before
    routes existed, so that `notifier outbox` shows why someone heard nothing.
    """
    planned: dict[tuple[ChannelKind, str], PlannedDelivery] = {}
    if rules.submitter:
        planned[_submitter(event).key] = _submitters(event, rules)
    for matched in (r for r in rules.routes if r.matches(event)):
        for to in matched.to:
            _merge(planned, PlannedDelivery(event.id, to, _outcomes(event, matched)))
    return list(planned.values())


def plan_all(events: Iterable[Event], rules: RoutingRules) -> list[PlannedDelivery]:
    return [delivery for event in events for delivery in plan(event, rules)]


def wanted(delivery_outcomes: frozenset[Outcome], outcome: Outcome) -> bool:
    """Whether a `finished` delivery planned for `delivery_outcomes` is sent for `outcome`."""
    return not delivery_outcomes or outcome in delivery_outcomes


def skip_reason(event: Event, to: Recipient, outcome: Outcome) -> str:
    """Why a `finished` delivery that is not `wanted` for `outcome` is skipped: for the
    submitter, the emailSetting by which IPS mails that outcome itself; else the route's
    outcomes. Every store records this reason, so that `notifier outbox` reads the same."""
    setting = ips_mails_itself(event.job, outcome)
    if setting is not None and to.key == _submitter(event).key:
        return ips_mails_reason(setting)
    return SKIP_OUTCOME


def ips_mails_reason(setting: EmailSetting) -> str:
    return SKIP_IPS_MAILS.format(setting=setting.value)


def _submitter(event: Event) -> Recipient:
    return Recipient(ChannelKind.EMAIL, event.job.submit_user_email or "")


def _submitters(event: Event, rules: RoutingRules) -> PlannedDelivery:
    """The submitter's delivery: skipped with the reason of the first rule that says no; in
    "complement", a `finished` one is sent only for the outcomes IPS does not mail itself."""
    to = _submitter(event)
    decision = route(event, rules)
    if not decision.send or rules.ips_emails is IpsEmails.IGNORE:
        return PlannedDelivery(event.id, to, skip=decision.reason)
    if event.kind is not EventKind.FINISHED or event.job.detail is None:
        return PlannedDelivery(event.id, to)
    setting = event.job.detail.email_setting
    mailed = frozenset(o for o in Outcome if ips_mails_outcome(setting, o))
    if setting is None or not mailed:
        return PlannedDelivery(event.id, to)
    if mailed == frozenset(Outcome):
        # Nothing left to send: an empty outcome set would mean "every outcome".
        return PlannedDelivery(event.id, to, skip=ips_mails_reason(setting))
    return PlannedDelivery(event.id, to, frozenset(Outcome) - mailed)


def _outcomes(event: Event, matched: Route) -> frozenset[Outcome]:
    return matched.outcomes if event.kind is EventKind.FINISHED else frozenset()


def _merge(planned: dict[tuple[ChannelKind, str], PlannedDelivery], new: PlannedDelivery) -> None:
    """One delivery per recipient: the first keeps its language; the outcomes it is sent for
    widen to every matching route's (an unfiltered route, or a sent submitter, means all)."""
    before = planned.get(new.recipient.key)
    if before is None:
        planned[new.recipient.key] = new
        return
    if before.skip:
        # A route reaches the submitter that notify.* excludes: the route decides.
        planned[new.recipient.key] = PlannedDelivery(
            before.event_id, before.recipient, new.outcomes
        )
        return
    narrowed = bool(before.outcomes and new.outcomes)
    widened = before.outcomes | new.outcomes if narrowed else frozenset()
    planned[new.recipient.key] = PlannedDelivery(before.event_id, before.recipient, widened)


def _fold(text: str) -> str:
    return text.strip().casefold()
