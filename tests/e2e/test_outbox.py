"""`notifier outbox`: an operator finds dead deliveries, retries one and drops another."""

from __future__ import annotations

import re

from tests.e2e.conftest import Notifier, World

BOUNCING = "bounce@example.com"  # refused for good: dead at once
GREYLISTED = "later@example.com"  # refused for now: pending, retried later


def rows(listing: str) -> dict[str, list[str]]:
    """The table's rows by recipient: ID, STATUS, TRIES, NEXT ATTEMPT, EVENT, RECIPIENT..."""
    lines = listing.splitlines()
    assert lines and lines[0].startswith("ID"), listing
    found = {}
    for line in lines[1:]:
        cells = re.split(r" {2,}", line.strip())
        found[cells[5]] = cells
    return found


async def test_an_operator_retries_a_dead_delivery_and_drops_a_pending_one(
    world: World, notifier: Notifier
) -> None:
    config = str(world.config(notify={"events": ["started"]}, smtp={"max_backoff": 600}))
    world.sink.refuse_recipient(BOUNCING, 550, "5.1.1 Mailbox unavailable")
    world.sink.refuse_recipient(GREYLISTED, 450, "4.2.1 Greylisted, try later")
    assert (await notifier.run("once", "-c", config)).returncode == 0
    for address in ("alice@example.com", BOUNCING, GREYLISTED):
        world.add_job(f"Job for {address}", email=address)
    assert (await notifier.run("once", "-c", config)).returncode == 0
    assert [m.rcpt_tos for m in world.sink.messages] == [("alice@example.com",)]

    listing = await notifier.run("outbox", "list", "-c", config)
    assert listing.returncode == 0
    before = rows(listing.stdout)
    assert set(before) == {BOUNCING, GREYLISTED}
    assert before[BOUNCING][1] == "dead"
    assert "550" in before[BOUNCING][7], f"the reason is shown: {before[BOUNCING]}"
    assert before[GREYLISTED][1] == "pending"
    assert "450" in before[GREYLISTED][7], f"the reason is shown: {before[GREYLISTED]}"
    assert {cells[4] for cells in before.values()} == {"started"}
    bouncing_id, greylisted_id = before[BOUNCING][0], before[GREYLISTED][0]

    retried = await notifier.run("outbox", "retry", bouncing_id, "-c", config)
    assert retried.returncode == 0, retried.output
    assert f"delivery {bouncing_id} will be sent" in retried.stdout
    dropped = await notifier.run("outbox", "drop", greylisted_id, "-c", config)
    assert dropped.returncode == 0, dropped.output
    assert f"delivery {greylisted_id} dropped" in dropped.stdout
    unknown = await notifier.run("outbox", "retry", "99999", "-c", config)
    assert unknown.returncode == 1
    no_id = await notifier.run("outbox", "drop", "-c", config)
    assert no_id.returncode == 2

    after = rows((await notifier.run("outbox", "-c", config)).stdout)
    assert after[BOUNCING][1] == "pending"
    assert after[GREYLISTED][1] == "dead"
    assert "dropped" in after[GREYLISTED][7]

    world.sink.accept_recipient(BOUNCING)
    world.sink.accept_recipient(GREYLISTED)
    assert (await notifier.run("once", "-c", config)).returncode == 0
    await world.wait_for_mails(2)
    assert [m.rcpt_tos for m in world.sink.messages][1:] == [(BOUNCING,)]
    final = rows((await notifier.run("outbox", "-c", config)).stdout)
    assert set(final) == {GREYLISTED}, "sent deliveries leave the listing, the dropped one stays"
