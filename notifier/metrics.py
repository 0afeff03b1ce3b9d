"""The Prometheus metrics of the daemon, in a registry of their own.

Owns the metric names operators alert on (see docs/DESIGN.md, "Metrics"). Never does I/O: the
HTTP endpoint renders `Metrics.render()`; the daemon calls the small methods below.
"""

from __future__ import annotations

import platform
import time
from enum import StrEnum

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from notifier import __version__
from notifier.core.events import EventKind

CONTENT_TYPE = CONTENT_TYPE_LATEST

# A poll is one SOAP call per company; the IPS timeout defaults to 30 s.
_POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# A healthy loop wakes a sleeper within a millisecond or two; the watchdog (60 s) is the end.
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PollResult(StrEnum):
    OK = "ok"
    ERROR = "error"
    AUTH_ERROR = "auth_error"


class EmailResult(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"


class DeliveryResult(StrEnum):
    """The `result` label of notifier_deliveries_total: an email's, and `held` (for a
    digest)."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"
    HELD = "held"


class Channel(StrEnum):
    """The `channel` label (notifier.core.routing.ChannelKind's values)."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class Metrics:
    """Every metric of one daemon. Each instance has its own registry, so tests can make many."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._polls = Counter(
            "notifier_polls", "Polls of IPS getActiveJobs, by result.", ["result"], registry=reg
        )
        self._poll_duration = Histogram(
            "notifier_poll_duration_seconds",
            "Time one poll of IPS took, successful or not.",
            buckets=_POLL_BUCKETS,
            registry=reg,
        )
        self._active_jobs = Gauge(
            "notifier_active_jobs", "Jobs listed by the last successful poll.", registry=reg
        )
        self._events = Counter(
            "notifier_events", "Job events found by the diff, by kind.", ["kind"], registry=reg
        )
        self._emails = Counter(
            "notifier_emails", "Email delivery attempts, by result.", ["result"], registry=reg
        )
        self._deliveries = Counter(
            "notifier_deliveries",
            "Delivery attempts on every channel, by channel and result (a digest counts each "
            "delivery it carries).",
            ["channel", "result"],
            registry=reg,
        )
        self._outbox_pending = Gauge(
            "notifier_outbox_pending",
            "Deliveries waiting to be sent (held for a digest included), by channel.",
            ["channel"],
            registry=reg,
        )
        self._outbox_dead = Gauge(
            "notifier_outbox_dead", "Deliveries given up (dead letters).", registry=reg
        )
        self._leader = Gauge(
            "notifier_leader",
            "1 on the replica that polls IPS, 0 on a standby (always 1 with SQLite).",
            registry=reg,
        )
        self._last_success = Gauge(
            "notifier_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful poll; 0 before the first.",
            registry=reg,
        )
        self._smtp_up = Gauge(
            "notifier_smtp_up",
            "1 unless the mail server failed as a whole at the last try (0 from then until an "
            "email goes through).",
            registry=reg,
        )
        self._smtp_up.set(1)
        self._webhook_up = Gauge(
            "notifier_webhook_up",
            "As notifier_smtp_up, for each [[webhook]] by name.",
            ["webhook"],
            registry=reg,
        )
        self._last_send = Gauge(
            "notifier_last_successful_send_timestamp_seconds",
            "Unix time of the last message a far end accepted, by channel; 0 before the first.",
            ["channel"],
            registry=reg,
        )
        self._oldest_pending = Gauge(
            "notifier_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery still owed (pending or held) since it became pending, "
            "by channel; 0 when none is owed.",
            ["channel"],
            registry=reg,
        )
        self._build_info = Gauge(
            "notifier_build_info",
            "Always 1; the labels say which notifier and which Python run.",
            ["version", "python"],
            registry=reg,
        )
        self._build_info.labels(__version__, platform.python_version()).set(1)
        self._loop_lag = Histogram(
            "notifier_event_loop_lag_seconds",
            "How much later than asked the event loop woke a task sleeping a fixed interval.",
            buckets=_LAG_BUCKETS,
            registry=reg,
        )
        # Every label value exists from the start, so rate() and alerts see 0, not nothing.
        for poll_result in PollResult:
            self._polls.labels(poll_result.value)
        for kind in EventKind:
            self._events.labels(kind.value)
        for email_result in EmailResult:
            self._emails.labels(email_result.value)
        for channel in Channel:
            self._outbox_pending.labels(channel.value)
            self._last_send.labels(channel.value)
            self._oldest_pending.labels(channel.value)
            for delivery_result in DeliveryResult:
                self._deliveries.labels(channel.value, delivery_result.value)

    def count_poll(self, result: PollResult | str) -> None:
        """One poll ended: "ok", "error" (retryable) or "auth_error" (credentials refused)."""
        self._polls.labels(PollResult(result).value).inc()

    def observe_poll_duration(self, seconds: float) -> None:
        self._poll_duration.observe(seconds)

    def mark_successful_poll(self, at: float | None = None) -> None:
        """`at` is Unix time (time.time()); defaults to now."""
        self._last_success.set(time.time() if at is None else at)

    def set_leader(self, value: int) -> None:
        self._leader.set(value)

    def set_active_jobs(self, count: int) -> None:
        self._active_jobs.set(count)

    def count_event(self, kind: EventKind | str, count: int = 1) -> None:
        self._events.labels(EventKind(kind).value).inc(count)

    def count_email(self, result: EmailResult | str, count: int = 1) -> None:
        """One delivery attempt ended: "sent", "retry", "dead" or "skipped" (by routing)."""
        self._emails.labels(EmailResult(result).value).inc(count)

    def count_delivery(
        self, channel: Channel | str, result: DeliveryResult | str, count: int = 1
    ) -> None:
        """Deliveries on `channel` ended a round as `result` (sent, retry, dead, skipped,
        held)."""
        self._deliveries.labels(Channel(channel).value, DeliveryResult(result).value).inc(count)

    def set_outbox(self, pending: dict[str, int], dead: int) -> None:
        """`pending`: owed deliveries by channel; `dead`: dead letters of every channel."""
        for channel in Channel:
            self._outbox_pending.labels(channel.value).set(pending.get(channel.value, 0))
        self._outbox_dead.set(dead)

    def add_webhooks(self, names: list[str]) -> None:
        """The configured webhooks: each is up until it fails."""
        for name in names:
            self._webhook_up.labels(name).set(1)

    def far_end(self, channel: Channel | str, webhook: str | None, up: bool, at: float) -> None:
        """A far end took a message (`up`, at Unix time `at`) or failed as a whole."""
        gauge = self._smtp_up if webhook is None else self._webhook_up.labels(webhook)
        gauge.set(1 if up else 0)
        if up:
            self._last_send.labels(Channel(channel).value).set(at)

    def set_oldest_pending(self, ages: dict[str, float]) -> None:
        """Seconds since the oldest owed delivery became pending, by channel."""
        for channel in Channel:
            self._oldest_pending.labels(channel.value).set(ages.get(channel.value, 0.0))

    def observe_loop_lag(self, seconds: float) -> None:
        self._loop_lag.observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (content type `CONTENT_TYPE`)."""
        data: bytes = generate_latest(self.registry)
        return data
