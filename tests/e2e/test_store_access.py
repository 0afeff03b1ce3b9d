"""One daemon per SQLite store, and commands that only read never create one.

Through the real `notifier` process: a second `run` on the same store exits 1 at once naming
the store and the pid holding it; after kill -9 of the holder a new daemon starts (the kernel
released the lock); `outbox list` and `once --dry-run` on a missing store fail naming the path
and where the service keeps its own, and leave no file behind.
"""

from __future__ import annotations

import signal
import time

from tests.e2e.conftest import Notifier, World

RUNNING = "notifier running"


async def test_a_second_daemon_on_the_same_store_exits_at_once_naming_the_holder(
    world: World, notifier: Notifier
) -> None:
    config = world.config()
    first = await notifier.start(config)
    await first.wait_for_log(RUNNING)

    started = time.monotonic()
    second = await notifier.run("run", "-c", str(config))
    took = time.monotonic() - started

    assert second.returncode == 1, second.output
    assert str(world.store) in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert took < 10, f"the second daemon took {took:.1f} s to give up"
    assert RUNNING not in second.output
    once = await notifier.run("once", "-c", str(config))
    assert once.returncode == 1, once.output
    assert f"pid {first.pid}" in once.stderr
    assert first.process.returncode is None, "the first daemon must keep running"


async def test_after_kill_9_of_the_holder_a_new_daemon_starts(
    world: World, notifier: Notifier
) -> None:
    config = world.config()
    world.add_job("Survives the kill", email="kim@example.com", state="New")
    first = await notifier.start(config)
    await first.wait_for_log(RUNNING)
    first.process.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL

    second = await notifier.start(config)
    line = await second.wait_for_log(RUNNING)
    assert "in use by another notifier" not in second.log, line
    assert f"store {world.store} open (daemon)" in second.log
    assert await second.stop() == 0


async def test_read_only_commands_never_create_a_store(world: World, notifier: Notifier) -> None:
    config = str(world.config())

    listed = await notifier.run("outbox", "-c", config, "list")
    dry = await notifier.run("once", "--dry-run", "-c", config)
    checked = await notifier.run("check-config", "-c", config)

    for result in (listed, dry):
        assert result.returncode == 1, result.output
        assert f"no store at {world.store}" in result.stderr
        assert "/var/lib/notifier" in result.stderr
        assert "$STATE_DIRECTORY" in result.stderr
    assert checked.returncode == 0, checked.output
    assert f"store: {world.store} (does not exist yet" in checked.stdout
    assert not world.store.exists()
    assert sorted(p.name for p in world.dir.iterdir() if "sqlite" in p.name) == []
    assert world.sim.requests == 0, "a dry run on no store must stop before polling IPS"


async def test_every_command_says_which_store_it_opened(world: World, notifier: Notifier) -> None:
    config = str(world.config())
    once = await notifier.run("once", "-c", config)
    assert once.returncode == 0, once.output
    assert f"store {world.store} open (daemon)" in once.stderr

    listed = await notifier.run("outbox", "-c", config, "list")
    dry = await notifier.run("once", "--dry-run", "-c", config)
    checked = await notifier.run("check-config", "-c", config)

    assert listed.returncode == 0, listed.output
    assert f"store {world.store}" in listed.stderr
    assert dry.returncode == 0, dry.output
    assert f"dry run: store {world.store}" in dry.stdout
    assert f"store: {world.store} (exists" in checked.stdout
