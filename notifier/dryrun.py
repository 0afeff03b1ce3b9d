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
from notifier.core.events import Completion, EventKind
from notifier.core.routing import route
from notifier.daemon import assemble, ips_client, mailer, message_builder, routing_rules, utc_now
from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.completions import JobLogCompletions
from notifier.store.protocol import Delivery
from notifier.store.sqlite import SqliteStore

RULE = "=" * 72


async def dry_run(config: Config, out: TextIO) -> int:
    """Print the events one poll finds and the emails they would send. Exit status."""
    with tempfile.TemporaryDirectory(prefix="notifier-dry-run-") as tmp:
        copy = Path(tmp) / "state.sqlite3"
        if config.store.path.exists():
            await asyncio.to_thread(_copy_database, config.store.path, copy)
        store = await SqliteStore.open(copy)
        try:
            async with ips_client(config) as client:
                parts = assemble(config, store, client, mailer(config), utc_now)
                await parts.poller.load()
                events = await parts.poller.poll_round()
                if all(h.last_success is None for h in parts.poller.health.scopes.values()):
                    out.write("dry run: no company could be polled; see the log above\n")
                    return 1
                now = utc_now()
                deliveries = await store.due_deliveries(now, limit=len(events) + 1)
                finished = [d for d in deliveries if d.event.kind is EventKind.FINISHED]
                completions = await JobLogCompletions(client)(finished, now, timedelta(0))
                out.write(f"dry run: {len(events)} event(s); nothing is recorded or sent\n")
                if not config.store.path.exists():
                    out.write(
                        f"dry run: {config.store.path} does not exist yet, so this is a first "
                        f"poll: its {len(parts.poller.state.jobs)} active job(s) would be "
                        "recorded without emails and followed from the next poll on\n"
                    )
                for delivery in deliveries:
                    _print(config, delivery, completions.get(delivery.id), out)
        finally:
            await store.close()
    return 0


def _print(config: Config, delivery: Delivery, completion: Completion | None, out: TextIO) -> None:
    event = delivery.event
    out.write(f"{RULE}\nevent {event.kind.value}: {event.job.name!r} ({event.job.job_handle})\n")
    decision = route(event, routing_rules(config))
    if not decision.send:
        out.write(f"would skip: {decision.reason}\n")
        return
    try:
        validate_address(event.job.submit_user_email)
    except InvalidAddress as exc:
        out.write(f"would skip: {exc}\n")
        return
    message = message_builder(config)(event, completion).parsed()
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
