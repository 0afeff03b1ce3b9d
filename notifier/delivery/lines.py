"""The log lines about deliveries: what a delivery is called in them, their structured fields
(notifier.logs.delivery_fields), and the one INFO line per message that went out.

Owns the wording and the fields. Never decides anything about a delivery.
"""

from __future__ import annotations

import logging

from notifier.core.routing import WEBHOOK_PREFIX, ChannelKind
from notifier.delivery.round import DeliveryResult
from notifier.logs import delivery_fields
from notifier.store.protocol import Delivery

log = logging.getLogger("notifier.delivery.loop")
"""The loop's logger: these lines are the loop's, and operators filter on its name."""


def fields(
    delivery: Delivery, result: DeliveryResult, message_id: str | None = None
) -> dict[str, object]:
    """The structured fields of a line about `delivery` (notifier.logs.delivery_fields)."""
    return delivery_fields(
        delivery_id=delivery.id,
        channel=delivery.channel.value,
        recipient=shown(delivery),
        result=result.value,
        message_id=message_id,
        event=delivery.event,
    )


def shown(delivery: Delivery) -> str:
    to = delivery.recipient
    return f"{WEBHOOK_PREFIX}{to.address}" if to.channel is ChannelKind.WEBHOOK else to.address


def log_sent(deliveries: list[Delivery], receipt: str) -> None:
    """One INFO line per message that went out (a digest is one), with the fields of its
    first delivery: "did Marie get her email?" is a grep, or a `select` on the JSON."""
    first = deliveries[0]
    email = first.channel is ChannelKind.EMAIL
    what = f"a digest of {len(deliveries)}" if len(deliveries) > 1 else first.event.kind.value
    log.info(
        "sent %s by %s to %s (delivery %s, job %s): %s",
        what,
        first.channel.value,
        shown(first),
        ", ".join(str(d.id) for d in deliveries),
        first.event.job.job_handle,
        receipt,
        extra=fields(first, DeliveryResult.SENT, receipt if email else None),
    )
