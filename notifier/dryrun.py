"""`notifier once --dry-run`: one real poll, then print what would be sent, changing nothing.

Works on a private copy of the store (SQLite's backup API, consistent even while the daemon
runs), so the real state and outbox are never touched and no email leaves. The store must
exist: a dry run compares IPS with what the store last recorded, and on no store at all every
job would only be recorded silently, which shows nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TextIO

from notifier.config import Config
from notifier.core.events import Event
from notifier.core.routing import ChannelKind
from notifier.delivery.channel import Channel, ChannelError, Item
from notifier.delivery.completions import JobLogCompletions
from notifier.ips.client import IpsClient
from notifier.mail.message import OutgoingEmail
from notifier.store.open import require_usable
from notifier.store.protocol import Delivery, DeliveryStatus
from notifier.store.sqlite import SqliteStore
from notifier.wiring import Parts, assemble, ips_client, mailer, utc_now

RULE = "=" * 72


async def dry_run(config: Config, out: TextIO) -> int:
    """Print the events one poll finds and the messages they would send. Exit status."""
    if config.store.is_postgres:
        out.write(
            "dry run: store.url names a PostgreSQL store, and a dry run works on a private "
            "copy of a SQLite store (store.path) only; see the shared outbox with "
            "`notifier outbox list`\n"
        )
        return 1
    await asyncio.to_thread(require_usable, config.store.path)
    out.write(f"dry run: store {config.store.path} (read from a private copy)\n")
    with tempfile.TemporaryDirectory(prefix="notifier-dry-run-") as tmp:
        copy = Path(tmp) / "state.sqlite3"
        await asyncio.to_thread(_copy_database, config.store.path, copy)
        # The private copy, not the configured store: nothing that happens to it is kept.
        store = await SqliteStore.open(copy)
        try:
            async with ips_client(config) as client:
                parts = assemble(config, store, client, mailer(config), utc_now)
                try:
                    return await _dry_round(parts, store, client, out)
                finally:
                    for channel in parts.channels:
                        await channel.close()
        finally:
            await store.close()


async def _dry_round(parts: Parts, store: SqliteStore, client: IpsClient, out: TextIO) -> int:
    parts.poller.one_shot = True
    await parts.poller.load()
    events = await parts.poller.poll_round()
    if all(h.last_success is None for h in parts.poller.health.scopes.values()):
        out.write("dry run: no company could be polled; see the log above\n")
        return 1
    now = utc_now()
    # Outcomes go into the private copy only, so that finished jobs show theirs.
    awaiting = await store.awaiting_completion()
    await store.set_completions(await JobLogCompletions(client)(awaiting, now, timedelta(0)), now)
    out.write(f"dry run: {len(events)} event(s); nothing is recorded or sent\n")
    statuses = (DeliveryStatus.PENDING, DeliveryStatus.SKIPPED)
    listed = await store.list_deliveries(statuses, limit=100_000)
    channels = {channel.kind: channel for channel in parts.channels}
    for event in events:
        _print(event, [d for d in listed if d.event.id == event.id], channels, out)
    return 0


def _print(
    event: Event,
    deliveries: list[Delivery],
    channels: dict[ChannelKind, Channel[Any]],
    out: TextIO,
) -> None:
    out.write(f"{RULE}\nevent {event.kind.value}: {event.job.name!r} ({event.job.job_handle})\n")
    if not deliveries:
        out.write("would skip: no recipient (notify.submitter = false and no route matches)\n")
    for delivery in deliveries:
        to = delivery.recipient
        if delivery.status is DeliveryStatus.SKIPPED:
            out.write(f"would skip {to.address or '(no address)'}: {delivery.last_error}\n")
            continue
        channel = channels.get(to.channel)
        if channel is None or to.channel is not ChannelKind.EMAIL:
            out.write(f"would send by {to.channel.value} to {to.address}\n")
            continue
        try:
            message = channel.prepare(to, Item(delivery.event, delivery.completion))
        except ChannelError as exc:
            out.write(f"would skip {to.address or '(no address)'}: {exc.reason}\n")
            continue
        _print_email(message, out)


def _print_email(message: OutgoingEmail, out: TextIO) -> None:
    parsed = message.parsed()
    for name, value in parsed.items():
        out.write(f"{name}: {value}\n")
    text = parsed.get_body(("plain",))
    out.write("\n" + (text.get_content() if isinstance(text, EmailMessage) else "") + "\n")


def _copy_database(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
