"""The backup recipes of deploy/INSTALL.md, while the daemon runs: sqlite3's .backup and the
Python one-liner give a store that `notifier outbox` reads, with the daemon's dead letter."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Notifier, World, wait_for

INSTALL = Path(__file__).resolve().parents[2] / "deploy" / "INSTALL.md"


def _python_recipe() -> str:
    """The one-liner from INSTALL.md, as documented."""
    found = re.search(r"python -c '([^']+)'", INSTALL.read_text(encoding="utf-8"))
    assert found, "INSTALL.md has no Python backup one-liner"
    return found.group(1)


async def _run(*args: str | Path) -> None:
    process = await asyncio.create_subprocess_exec(*(str(a) for a in args))
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0, args


@pytest.mark.parametrize("tool", ["python", "sqlite3"])
async def test_a_backup_taken_while_the_daemon_runs_holds_its_outbox(
    world: World, notifier: Notifier, tool: str
) -> None:
    if tool == "sqlite3" and shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command-line tool is not installed")
    world.sink.refuse_recipient("gone@example.com", 550, "5.1.1 No such user")
    config = world.config()
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    world.add_job("Bounces", email="gone@example.com", state="New")

    async def dead_letter() -> bool:
        listed = await notifier.run("outbox", "-c", str(config), "list")
        return "gone@example.com" in listed.stdout and "dead" in listed.stdout

    await wait_for(dead_letter, "a dead letter in the live store")
    backup = world.dir / "backup.sqlite3"
    if tool == "sqlite3":
        await _run("sqlite3", world.store, f".backup '{backup}'")
    else:
        await _run(sys.executable, "-c", _python_recipe(), world.store, backup)
    assert daemon.process.returncode is None

    restored = world.config("restored.toml", store={"path": str(backup)})
    listed = await notifier.run("outbox", "-c", str(restored), "list")
    assert listed.returncode == 0, listed.output
    assert "gone@example.com" in listed.stdout
    assert "550 5.1.1 No such user" in listed.stdout
    assert await daemon.stop() == 0
