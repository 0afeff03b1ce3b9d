"""The parts of one notifier process, made from its configuration: the store, the IPS
client, the mail pool, the channels, the poller and the delivery loop, wired together.

The only module that knows every part and how the configuration maps onto each. Never runs
them: the life cycle (start, signals, systemd, a clean stop) is daemon.py's; the commands
beside it (dry run, checks, send-test, demo) take the parts they need from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.config import Config
from notifier.core.routing import ChannelKind, Route, RoutingRules, recipient
from notifier.core.rules import DiffRules
from notifier.delivery.channel import Channel
from notifier.delivery.completions import JobLogCompletions
from notifier.delivery.hold import DigestSettings
from notifier.delivery.loop import DeliveryLoop
from notifier.delivery.retry import RetryPolicy
from notifier.delivery.round import DeliveryResult
from notifier.ips.client import IpsClient
from notifier.mail.channel import EmailChannel, EmailSettings
from notifier.mail.digest import localized_digest
from notifier.mail.sender import Mailer, SmtpSecurity
from notifier.metrics import EmailResult, Metrics
from notifier.poller import Poller
from notifier.store.open import Access, Leading, SoleReplica, open_configured
from notifier.store.protocol import Store
from notifier.webhook.channel import WebhookChannel
from notifier.webhook.target import WebhookTarget

_EMAIL_RESULTS = frozenset(result.value for result in EmailResult)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Parts:
    """The running pieces of one notifier process."""

    config: Config
    store: Store
    client: IpsClient
    mailer: Mailer
    metrics: Metrics
    poller: Poller
    delivery: DeliveryLoop
    wake: asyncio.Event
    channels: list[Channel[Any]]
    leading: Leading
    """Whether this replica polls (always, on SQLite)."""
    shared: bool = False
    """The store is PostgreSQL, shared by replicas: /readyz and STATUS= say the role."""


def diff_rules(config: Config) -> DiffRules:
    stall = config.poll.stall_after
    return DiffRules(
        finish_confirm_polls=config.poll.finish_confirm_polls,
        stall_after=timedelta(seconds=stall) if stall > 0 else None,
        progress_steps=config.poll.progress_steps,
    )


def routing_rules(config: Config) -> RoutingRules:
    routes = tuple(
        Route(
            to=tuple(recipient(entry, r.locale) for entry in r.to),
            events=frozenset(r.events),
            companies=frozenset(r.companies),
            job_types=frozenset(r.job_types),
            outcomes=frozenset(r.outcomes),
        )
        for r in config.routes
    )
    return RoutingRules(
        events=frozenset(config.notify.events),
        job_types=frozenset(config.notify.job_types),
        deny=config.notify.deny,
        submitter=config.notify.submitter,
        ips_emails=config.notify.ips_emails,
        routes=routes,
    )


def email_settings(config: Config) -> EmailSettings:
    return EmailSettings(
        sender=config.smtp.sender,
        default_locale=config.notify.default_locale,
        timezone=config.notify.timezone,
        reply_to=config.notify.reply_to,
        dmc_url=config.notify.dmc_url,
        message_id_domain=config.smtp.message_id_domain,
    )


def channels(config: Config, smtp: Mailer) -> list[Channel[Any]]:
    """Every channel deliveries can travel by: email, and the webhooks when any is configured."""
    email = EmailChannel(smtp, email_settings(config), build_digest=localized_digest)
    if not config.webhooks:
        return [email]
    return [email, webhook_channel(config)]


def webhook_channel(config: Config) -> WebhookChannel:
    notify = config.notify
    return WebhookChannel(
        webhook_targets(config), default_locale=notify.default_locale, timezone=notify.timezone
    )


def webhook_targets(config: Config) -> list[WebhookTarget]:
    return [hook.target() for hook in config.webhooks]


def retry_policy(config: Config) -> RetryPolicy:
    return RetryPolicy(max_backoff=config.smtp.max_backoff, max_age=config.smtp.max_age)


def digest_settings(config: Config) -> DigestSettings:
    return DigestSettings(after=config.digest.after, window=timedelta(seconds=config.digest.window))


def ips_client(config: Config) -> IpsClient:
    ips = config.ips
    return IpsClient(
        ips.url,
        ips.user,
        ips.password.reveal(),
        api_version=ips.api_version,
        timeout=ips.timeout,
        verify_tls=ips.verify_tls,
        ca_file=str(ips.ca_file) if ips.ca_file else None,
    )


def mailer(config: Config) -> Mailer:
    smtp = config.smtp
    return Mailer(
        smtp.host,
        smtp.port,
        security=SmtpSecurity(smtp.security.value),
        user=smtp.user,
        password=smtp.password.reveal(),
        timeout=smtp.timeout,
        max_connections=smtp.max_connections,
        verify_tls=smtp.verify_tls,
        ca_file=str(smtp.ca_file) if smtp.ca_file else None,
    )


@asynccontextmanager
async def open_parts(
    config: Config, *, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[Parts]:
    """Open (and lock) the store, the IPS session and the mail pool; close them all on the way
    out."""
    store_config = config.store
    async with (
        open_configured(
            Access.DAEMON,
            path=store_config.path,
            url=store_config.url,
            password=store_config.password.reveal(),
            leader_lease=store_config.leader_lease,
        ) as opened,
        ips_client(config) as client,
    ):
        smtp = mailer(config)
        try:
            parts = assemble(config, opened.store, client, smtp, clock, opened.leading)
            parts.shared = store_config.is_postgres
            try:
                yield parts
            finally:
                for channel in parts.channels:
                    await channel.close()
        finally:
            await smtp.close()


def assemble(
    config: Config,
    store: Store,
    client: IpsClient,
    smtp: Mailer,
    clock: Callable[[], datetime],
    leading: Leading | None = None,
) -> Parts:
    metrics = Metrics()
    wake = asyncio.Event()
    poller = Poller(
        client,
        store,
        diff_rules(config),
        companies=config.ips.companies,
        interval=config.poll.interval,
        max_backoff=config.poll.max_backoff,
        metrics=metrics,
        clock=clock,
        on_events=lambda events: wake.set(),
        routing=routing_rules(config),
    )

    metrics.add_webhooks([hook.name for hook in config.webhooks])

    def far_end(channel: ChannelKind, webhook: str | None, up: bool, at: datetime) -> None:
        metrics.far_end(channel.value, webhook, up, at.timestamp())

    def count(channel: ChannelKind, result: DeliveryResult, deliveries: int) -> None:
        metrics.count_delivery(channel.value, result.value, deliveries)
        if channel is ChannelKind.EMAIL and result.value in _EMAIL_RESULTS:
            metrics.count_email(result.value)  # one email, even a digest of many

    carriers = channels(config, smtp)
    leading = leading or SoleReplica()
    delivery = DeliveryLoop(
        store,
        carriers,
        completions=JobLogCompletions(client),
        # Every replica delivers, but only the one that polls asks IPS for job logs: the
        # others would repeat its requests and its writes.
        resolves_outcomes=lambda: leading.is_leader,
        grace=timedelta(seconds=config.notify.outcome_grace),
        # A job log is usually written a poll or so after the job leaves the list.
        ask_every=config.poll.interval,
        retry=retry_policy(config),
        digest=digest_settings(config),
        clock=clock,
        on_result=count,
        on_far_end=far_end,
    )
    metrics.set_leader(leading.gauge)
    return Parts(config, store, client, smtp, metrics, poller, delivery, wake, carriers, leading)
