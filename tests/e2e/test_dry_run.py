"""`notifier once --dry-run` shows what a round would do and leaves no trace."""

from __future__ import annotations

import tomllib
from pathlib import Path

from notifier.sim import DEFAULT_USER
from tests.e2e.conftest import IPS_PASSWORD, Notifier, World, toml_text


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


def readme_recipe() -> dict[str, dict[str, object]]:
    """The configuration of README's dry-run recipe, as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    recipe = readme.split("<<'TOML'\n", 1)[1].split("    TOML\n", 1)[0]
    lines = (line.removeprefix("    ") for line in recipe.splitlines())
    return tomllib.loads("\n".join(lines))


async def test_the_readme_recipe_shows_events_on_a_fresh_store(
    world: World, notifier: Notifier
) -> None:
    document = readme_recipe()
    assert document["ips"]["user"] == DEFAULT_USER and document["ips"]["password"] == "demo"
    # This test's simulator listens elsewhere and wants its own password.
    document["ips"].update(url=world.sim.url, password=IPS_PASSWORD)
    config = world.dir / "try.toml"
    config.write_text(toml_text(document), encoding="utf-8")
    world.add_job("Already there", email="al@example.com")

    recorded = await notifier.run("once", "-c", str(config))
    world.add_job("Neu gestartet", email="nina@example.de", locale="de-DE")
    dry = await notifier.run("once", "-c", str(config), "--dry-run")

    assert recorded.returncode == 0, recorded.output
    assert (world.dir / str(document["store"]["path"])).exists()
    assert dry.returncode == 0, dry.output
    assert "dry run: 1 event(s)" in dry.stdout
    assert "event started: 'Neu gestartet'" in dry.stdout
    assert world.sink.messages == []
