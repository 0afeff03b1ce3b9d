"""`notifier outbox`: what is pending, held, dead or skipped, and the operator's retry and
drop.

Reads and changes deliveries only through the Store protocol. A recipient is shown as a
route's `to` writes it: an email address, or `webhook:<name>`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from notifier.config import Config
from notifier.core.routing import WEBHOOK_PREFIX, ChannelKind, Recipient
from notifier.store.open import Access, open_configured
from notifier.store.protocol import Delivery, DeliveryStatus, OperatorStore

LISTED = (
    DeliveryStatus.PENDING,
    DeliveryStatus.HELD,
    DeliveryStatus.DEAD,
    DeliveryStatus.SKIPPED,
)


async def command(config: Config, action: str, delivery_id: int | None, out: TextIO) -> int:
    access = Access.READ if action == "list" else Access.OPERATOR
    settings = config.store
    async with open_configured(
        access, path=settings.path, url=settings.url, password=settings.password.reveal()
    ) as opened:
        return await _act(opened.store, action, delivery_id, out)


async def _act(store: OperatorStore, action: str, delivery_id: int | None, out: TextIO) -> int:
    now = datetime.now(UTC)
    if action == "list":
        _list(await store.list_deliveries(LISTED), out)
        return 0
    assert delivery_id is not None
    if action == "retry":
        changed = await store.retry(delivery_id, now)
        verb = "will be sent on the next round"
    else:
        changed = await store.drop(delivery_id, now)
        verb = "dropped"
    if not changed:
        out.write(f"no delivery {delivery_id} in a state that allows {action}\n")
        return 1
    out.write(f"delivery {delivery_id} {verb}\n")
    return 0


def _list(deliveries: list[Delivery], out: TextIO) -> None:
    if not deliveries:
        out.write("the outbox is empty: nothing pending, held, dead or skipped\n")
        return
    header = ("ID", "STATUS", "TRIES", "NEXT ATTEMPT (UTC)", "EVENT", "RECIPIENT", "JOB", "REASON")
    rows = [header] + [_row(d) for d in deliveries]
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(len(header))]
    for row in rows:
        cells = [cell[:width].ljust(width) for cell, width in zip(row, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")


def _row(d: Delivery) -> tuple[str, ...]:
    job = d.event.job
    due = d.next_attempt_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        str(d.id),
        d.status.value,
        str(d.attempts),
        due if d.status in (DeliveryStatus.PENDING, DeliveryStatus.HELD) else "-",
        d.event.kind.value,
        _recipient(d.recipient),
        _printable(job.name),
        _printable(d.last_error or ""),
    )


def _recipient(to: Recipient) -> str:
    if to.channel is ChannelKind.WEBHOOK:
        return f"{WEBHOOK_PREFIX}{_printable(to.address)}"
    return _printable(to.address) or "-"


def _printable(text: str) -> str:
    """Job fields come from IPS: keep terminal control characters out of the operator's tty."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
