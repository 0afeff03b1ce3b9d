"""`notifier once --dry-run` shows what a round would do and leaves no trace."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Notifier, World


def store_content(store: Path) -> tuple[bytes, bytes]:
    """The database file and its write-ahead log ("" when there is none) as they are on disk.

    The shared-memory index (-shm) is left out: any reader, even a read-only one, may create
    it and an empty WAL, which holds no data.
    """
    wal = store.with_name(store.name + "-wal")
    return store.read_bytes(), wal.read_bytes() if wal.exists() else b""


async def test_dry_run_prints_events_and_emails_and_changes_nothing(
    world: World, notifier: Notifier
) -> None:
    config = str(world.config())
    world.add_job("Already running", email="old@example.com")
    primed = await notifier.run("once", "-c", config)
    assert primed.returncode == 0, primed.output
    world.add_job("Nachtlauf Produktbilder", email="jana@example.de", locale="de-DE")
    world.add_job("Waiting one", email="wanda@example.com", state="New")
    outbox_before = await notifier.run("outbox", "-c", config)
    files_before = store_content(world.store)

    dry = await notifier.run("once", "--dry-run", "-c", config)

    assert dry.returncode == 0, dry.output
    assert "2 event(s); nothing is recorded or sent" in dry.stdout
    assert "event started: 'Nachtlauf Produktbilder'" in dry.stdout
    assert "event queued: 'Waiting one'" in dry.stdout
    assert "Subject: IPS-Job gestartet: Nachtlauf Produktbilder" in dry.stdout
    assert "X-IPS-Job-Event: started" in dry.stdout
    assert "Content-Language: de" in dry.stdout
    assert "Already running" not in dry.stdout
    assert world.sink.messages == []
    assert store_content(world.store) == files_before
    outbox_after = await notifier.run("outbox", "-c", config)
    assert outbox_after.stdout == outbox_before.stdout

    real = await notifier.run("once", "-c", config)
    assert real.returncode == 0, real.output
    mails = await world.wait_for_mails(2)
    assert sorted(str(m["X-IPS-Job-Event"]) for m in mails) == ["queued", "started"]
