"""`notifier outbox`: what was sent, what is pending, held, dead or skipped, one delivery in
full, and the operator's retry and drop.

Opens the store through store/open.py: `READ` for `list` and `show` (nothing is changed),
`OPERATOR` for `retry` and `drop` (beside a running daemon). Reads and changes deliveries
only through the OperatorStore protocol. A recipient is shown as a route's `to` writes it:
an email address, or `webhook:<name>`. The text table fits the terminal (a pipe gets whole
cells; `--json` is the form for scripts: outbox/listing.py names its keys).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from typing import TextIO

from notifier.config import Config
from notifier.outbox import listing, show
from notifier.outbox.request import (
    Action,
    OutboxRequest,
    OutboxUsageError,
    request,
)
from notifier.store.open import Access, open_configured
from notifier.store.protocol import DeliveryStatus, OperatorStore

__all__ = ["OutboxRequest", "OutboxUsageError", "command", "request"]

LIMIT = 1000
"""Deliveries listed at most (the newest); --status, --to, --job and --since narrow."""


async def command(config: Config, asked: OutboxRequest, out: TextIO) -> int:
    """Run `asked`; the exit status."""
    access = Access.READ if asked.action in (Action.LIST, Action.SHOW) else Access.OPERATOR
    settings = config.store
    async with open_configured(
        access, path=settings.path, url=settings.url, password=settings.password.reveal()
    ) as opened:
        store = opened.store
        if asked.action is Action.LIST:
            return await _list(config, store, asked, out)
        assert asked.delivery_id is not None
        if asked.action is Action.SHOW:
            return await _show(config, store, asked.delivery_id, asked.as_json, out)
        return await _change(store, asked.action, asked.delivery_id, out)


async def _list(config: Config, store: OperatorStore, asked: OutboxRequest, out: TextIO) -> int:
    found = await store.find_deliveries(asked.query, limit=LIMIT + 1)
    truncated = len(found) > LIMIT
    shown = found[-LIMIT:]
    if asked.as_json:
        out.write(listing.document(config.store.path, shown, truncated=truncated) + "\n")
        return 0
    if not shown:
        if asked.narrowed:
            out.write("no delivery matches\n")
        else:
            out.write("the outbox is empty: nothing pending, held, dead or skipped\n")
        return 0
    for line in listing.text_lines(shown, _width(out)):
        out.write(line + "\n")
    if truncated:
        out.write(f"(the newest {LIMIT} shown; narrow with --status, --to, --job or --since)\n")
    return 0


async def _show(
    config: Config, store: OperatorStore, delivery_id: int, as_json: bool, out: TextIO
) -> int:
    delivery = await store.delivery(delivery_id)
    if delivery is None:
        out.write(f"no delivery {delivery_id} in {config.store.path}\n")
        return 1
    out.write(show.document(config, delivery) + "\n" if as_json else show.text(config, delivery))
    return 0


async def _change(store: OperatorStore, action: Action, delivery_id: int, out: TextIO) -> int:
    now = datetime.now(UTC)
    if action is Action.RETRY:
        changed = await store.retry(delivery_id, now)
        verb = "will be sent on the next round"
    else:
        before = await store.delivery(delivery_id)
        changed = await store.drop(delivery_id, now)
        dead = before is not None and before.status is DeliveryStatus.DEAD
        verb = "dropped: set aside as skipped, no longer a dead letter" if dead else "dropped"
    if not changed:
        out.write(f"no delivery {delivery_id} in a state that allows {action.value}\n")
        return 1
    out.write(f"delivery {delivery_id} {verb}\n")
    return 0


def _width(out: TextIO) -> int:
    """The terminal's width; a pipe or a file (unless $COLUMNS says) gets whole cells."""
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty or os.environ.get("COLUMNS"):
        return shutil.get_terminal_size().columns
    return 1_000_000
