"""`notifier once --dry-run`: one real poll, then print what would be sent, changing nothing.

Works on a private copy of the state file (SQLite's backup API, consistent even while the
daemon runs), so the real state and outbox are never touched and no email leaves.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TextIO

from notifier.config import Config
from notifier.core.events import Event
from notifier.daemon import assemble, email_settings, ips_client, mailer, utc_now
from notifier.delivery.channel import ChannelError, Item
from notifier.delivery.completions import JobLogCompletions
from notifier.mail.channel import EmailChannel
from notifier.store.protocol import Delivery, DeliveryStatus
from notifier.store.sqlite import SqliteStore

RULE = "=" * 72


async def dry_run(config: Config, out: TextIO) -> int:
    """Print the events one poll finds and the messages they would send. Exit status."""
    with tempfile.TemporaryDirectory(prefix="notifier-dry-run-") as tmp:
        copy = Path(tmp) / "state.sqlite3"
        if config.store.path.exists():
            await asyncio.to_thread(_copy_database, config.store.path, copy)
        store = await SqliteStore.open(copy)
        try:
            async with ips_client(config) as client:
                smtp = mailer(config)
                parts = assemble(config, store, client, smtp, utc_now)
                await parts.poller.load()
                events = await parts.poller.poll_round()
                if all(h.last_success is None for h in parts.poller.health.scopes.values()):
                    out.write("dry run: no company could be polled; see the log above\n")
                    return 1
                now = utc_now()
                # Outcomes go into the private copy only, so that finished jobs show theirs.
                awaiting = await store.awaiting_completion()
                completions = await JobLogCompletions(client)(awaiting, now, timedelta(0))
                await store.set_completions(completions, now)
                out.write(f"dry run: {len(events)} event(s); nothing is recorded or sent\n")
                if not config.store.path.exists():
                    out.write(
                        f"dry run: {config.store.path} does not exist yet, so this is a first "
                        f"poll: its {len(parts.poller.state.jobs)} active job(s) would be "
                        "recorded without emails and followed from the next poll on\n"
                    )
                statuses = (DeliveryStatus.PENDING, DeliveryStatus.SKIPPED)
                listed = await store.list_deliveries(statuses, limit=100_000)
                ids = {event.id for event in events}
                for event in events:
                    mine = [d for d in listed if d.event.id == event.id and d.event.id in ids]
                    _print(config, event, mine, out)
        finally:
            await store.close()
    return 0


def _print(config: Config, event: Event, deliveries: list[Delivery], out: TextIO) -> None:
    out.write(f"{RULE}\nevent {event.kind.value}: {event.job.name!r} ({event.job.job_handle})\n")
    if not deliveries:
        out.write("would skip: no recipient (notify.submitter = false and no route matches)\n")
    channel = EmailChannel(mailer(config), email_settings(config))
    for delivery in deliveries:
        to = delivery.recipient
        if delivery.status is DeliveryStatus.SKIPPED:
            out.write(f"would skip {to.address or '(no address)'}: {delivery.last_error}\n")
            continue
        if to.channel is not channel.kind:
            out.write(f"would post to {to.channel.value} {to.address}\n")
            continue
        try:
            message = channel.prepare(to, Item(delivery.event, delivery.completion)).parsed()
        except ChannelError as exc:
            out.write(f"would skip {to.address or '(no address)'}: {exc.reason}\n")
            continue
        for name, value in message.items():
            out.write(f"{name}: {value}\n")
        text = message.get_body(("plain",))
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
