"""The webhook channel through the delivery protocol, against a real aiohttp.web receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from notifier.core.events import Outcome
from notifier.core.routing import ChannelKind, Recipient
from notifier.delivery.channel import GiveUp, RetryLater, Unaddressable, digest_id
from notifier.webhook.channel import WebhookChannel
from notifier.webhook.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from notifier.webhook.target import WebhookFormat, WebhookTarget
from tests.held_items import burst, held
from tests.webhook_receiver import Answer, WebhookReceiver

SECRET = "whsec-ops-1"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def channel(receiver: WebhookReceiver) -> AsyncIterator[WebhookChannel]:
    base = await receiver.start()
    channel = WebhookChannel(
        [
            WebhookTarget("ops", base + "/hooks/ips", WebhookFormat.JSON, SECRET, timeout=5),
            WebhookTarget("chat", base + "/services/T1/B2/sekrit", WebhookFormat.SLACK),
            WebhookTarget(
                "teams", base + "/webhookb2/abc/IncomingWebhook/def", WebhookFormat.TEAMS
            ),
        ]
    )
    yield channel
    await channel.close()


def to(name: str, locale: str | None = None) -> Recipient:
    return Recipient(ChannelKind.WEBHOOK, name, locale)


async def test_a_503_is_retried_as_an_outage_and_the_retry_arrives_signed(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    assert channel.kind is ChannelKind.WEBHOOK and channel.concurrency >= 1
    item = held("Spring catalogue", outcome=Outcome.FAILED)
    request = channel.prepare(to("ops"), item)
    receiver.answers.append(Answer(503))
    with pytest.raises(RetryLater) as raised:
        await channel.deliver(request)
    assert raised.value.outage and "HTTP 503" in raised.value.reason
    assert await channel.deliver(request) == "HTTP 200"
    first, second = receiver.received
    assert first.body == second.body
    assert second.headers[EVENT_ID_HEADER] == item.event.id
    assert verify(SECRET, second.body, second.headers[SIGNATURE_HEADER])
    payload = json.loads(second.body)
    assert payload["id"] == item.event.id and payload["outcome"] == "failed"


async def test_a_429_carries_the_receivers_delay_and_a_400_gives_up(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    request = channel.prepare(to("ops"), held("Spring"))
    receiver.answers += [Answer(429, "", {"Retry-After": "30"}), Answer(400, "bad payload")]
    with pytest.raises(RetryLater) as slow:
        await channel.deliver(request)
    assert slow.value.retry_after == 30.0 and not slow.value.outage
    with pytest.raises(GiveUp, match="HTTP 400: bad payload"):
        await channel.deliver(request)


async def test_a_digest_is_one_post_listing_every_job_under_the_digests_id(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    items = burst(failed=2, succeeded=38)
    request = channel.prepare_digest(to("ops"), items)
    assert request == channel.prepare_digest(to("ops"), items)  # the same body on a retry
    assert await channel.deliver(request) == "HTTP 200"
    (got,) = receiver.received
    payload = json.loads(got.body)
    assert got.headers[EVENT_ID_HEADER] == payload["id"] == digest_id(items, to("ops"))
    assert payload["event"] == "digest" and payload["count"] == 40 == len(payload["events"])


async def test_slack_and_teams_get_their_own_payloads_in_the_routes_language(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    item = held("Spring catalogue", outcome=Outcome.WARNINGS, locale="en-US")
    await channel.deliver(channel.prepare(to("chat", "de"), item))
    await channel.deliver(channel.prepare_digest(to("teams", "ja"), burst(1, 2)))
    slack, teams = (json.loads(got.body) for got in receiver.received)
    assert slack["text"] == "IPS-Job mit Warnungen abgeschlossen: Spring catalogue"
    assert teams["attachments"][0]["content"]["body"][0]["text"].startswith("IPS ジョブ 3 件")
    assert SIGNATURE_HEADER not in receiver.received[0].headers


async def test_an_unknown_webhook_name_is_unaddressable_naming_the_known_ones(
    channel: WebhookChannel,
) -> None:
    with pytest.raises(Unaddressable, match=r"'pager'.*chat, ops, teams"):
        channel.prepare(to("pager"), held("Spring"))
    assert channel.prepare(to("OPS"), held("Spring")).target.name == "ops"
