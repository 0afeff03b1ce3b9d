"""`notifier outbox` answers an operator's questions, through the real process: did Marie get
her email (`list --to ... --status sent`), what exactly was sent (`show ID`: the whole reason
and the headers), what scripts read (`--json`), columns that fit the terminal with wide
characters counted, and a dead letter that can be dropped."""

from __future__ import annotations

import json
import re
import unicodedata

from tests.e2e.conftest import Notifier, World

MARIE = "marie@example.com"
BOUNCING = "bounce@example.com"
LONG_REFUSAL = (
    "5.1.1 The email account that you tried to reach does not exist; please check the "
    "recipient's address for typos or unnecessary spaces and try again"
)
CJK_JOB = "春のカタログ撮影データ一括公開ジョブ"


def cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


async def sent_and_bounced(world: World, notifier: Notifier) -> str:
    config = str(world.config(notify={"events": ["started"]}))
    world.sink.refuse_recipient(BOUNCING, 550, LONG_REFUSAL)
    assert (await notifier.run("once", "-c", config)).returncode == 0
    world.add_job(CJK_JOB, email=MARIE, locale="ja-JP")
    world.add_job("Bounced catalogue", email=BOUNCING)
    world.add_job("Bob's banners", email="bob@example.com")
    assert (await notifier.run("once", "-c", config)).returncode == 0
    await world.wait_for_mails(2)
    return config


async def test_did_marie_get_her_email_and_what_did_it_carry(
    world: World, notifier: Notifier
) -> None:
    config = await sent_and_bounced(world, notifier)
    (mail,) = [m for m in world.mails() if m["To"] == MARIE]

    asked = await notifier.run(
        "outbox", "list", "--to", "Marie@Example.com", "--status", "sent", "-c", config
    )

    assert asked.returncode == 0, asked.output
    assert f"store {world.store} open (read)" in asked.stderr
    header, *rows = asked.stdout.splitlines()
    assert header.startswith("ID") and len(rows) == 1, asked.stdout
    cells_of = re.split(r" {2,}", rows[0].strip())
    assert cells_of[1] == "sent" and cells_of[5] == MARIE, cells_of
    assert mail["Message-ID"] in rows[0], "the receipt is the Message-ID sent"
    delivery_id = cells_of[0]

    shown = await notifier.run("outbox", "show", delivery_id, "-c", config)

    assert shown.returncode == 0, shown.output
    assert f"  Message-ID: {mail['Message-ID']}" in shown.stdout
    assert f"  X-IPS-Job-Handle: {mail['X-IPS-Job-Handle']}" in shown.stdout
    assert f"  Subject: {mail['Subject']}" in shown.stdout
    assert f"  Content-Language: {mail['Content-Language']}" in shown.stdout


async def test_scripts_read_one_json_document_with_stable_keys(
    world: World, notifier: Notifier
) -> None:
    config = await sent_and_bounced(world, notifier)

    asked = await notifier.run("outbox", "list", "--json", "--status", "sent,dead", "-c", config)

    assert asked.returncode == 0, asked.output
    document = json.loads(asked.stdout)
    assert set(document) == {"store", "deliveries", "truncated"}
    assert document["store"] == str(world.store) and document["truncated"] is False
    by_recipient = {d["recipient"]: d for d in document["deliveries"]}
    assert set(by_recipient) == {MARIE, BOUNCING, "bob@example.com"}
    bounced = by_recipient[BOUNCING]
    assert set(bounced) == {
        "id", "status", "channel", "recipient", "event", "event_id", "company", "job_handle",
        "job_name", "attempts", "created_at", "pending_since", "updated_at",
        "next_attempt_at", "reason", "receipt",
    }  # fmt: skip
    assert bounced["status"] == "dead" and bounced["reason"] == f"550 {LONG_REFUSAL}"
    assert by_recipient[MARIE]["job_name"] == CJK_JOB
    handle = by_recipient[MARIE]["job_handle"]

    by_job = json.loads(
        (
            await notifier.run(
                "outbox", "--json", "--status", "sent", "--job", handle, "-c", config
            )
        ).stdout
    )
    assert [d["recipient"] for d in by_job["deliveries"]] == [MARIE]
    recent = await notifier.run("outbox", "list", "--status", "sent", "--since", "1h", "-c", config)
    rows = recent.stdout.splitlines()[1:]
    assert sorted(row.split()[6] for row in rows) == ["bob@example.com", MARIE], recent.stdout
    future = await notifier.run("outbox", "--since", "2099-01-01", "--status", "sent", "-c", config)
    assert future.returncode == 0 and future.stdout == "no delivery matches\n"
    wrong = await notifier.run("outbox", "list", "--status", "delivered", "-c", config)
    assert wrong.returncode == 2 and "--status 'delivered'" in wrong.stderr
    never = await notifier.run("outbox", "list", "--since", "yesterday", "-c", config)
    assert never.returncode == 2 and "--since 'yesterday'" in never.stderr


async def test_columns_fit_the_terminal_and_a_cut_reason_says_so(
    world: World, notifier: Notifier
) -> None:
    config = await sent_and_bounced(world, notifier)

    listing = await notifier.run(
        "outbox", "list", "--status", "sent,dead", "-c", config, env={"COLUMNS": "110"}
    )

    assert listing.returncode == 0, listing.output
    lines = listing.stdout.splitlines()
    assert len(lines) == 4, listing.stdout
    assert all(cells(line) <= 110 for line in lines), [cells(line) for line in lines]
    (bounced,) = [line for line in lines if "bounce@" in line]
    assert bounced.endswith("…") and "550 5.1.1" in bounced
    reason = bounced[bounced.index("550 5.1.1") : -1]
    assert LONG_REFUSAL.startswith(reason[4:].rstrip()), "cut, not changed"
    assert LONG_REFUSAL[len(reason) - 4] in " ;,", "cut at a word boundary"
    starts = {
        line.index(" sent ") if " sent " in line else line.index(" dead ") for line in lines[1:]
    }
    assert len(starts) == 1, "the STATUS column is aligned"
    (marie,) = [line for line in lines if MARIE in line]
    (bob,) = [line for line in lines if "bob@" in line]
    assert cells(marie[: marie.index("sent ")]) == cells(bob[: bob.index("sent ")])
    receipts = [line.rsplit("  ", 1)[-1] for line in (marie, bob)]
    assert all(r.startswith("<") for r in receipts), receipts

    whole = await notifier.run("outbox", "show", bounced.split()[0], "-c", config)
    assert f"550 {LONG_REFUSAL}" in whole.stdout, "show gives the whole reason"


async def test_a_dead_letter_can_be_dropped(world: World, notifier: Notifier) -> None:
    config = await sent_and_bounced(world, notifier)
    dead = json.loads(
        (await notifier.run("outbox", "--json", "--status", "dead", "-c", config)).stdout
    )
    (bounced,) = dead["deliveries"]

    dropped = await notifier.run("outbox", "drop", str(bounced["id"]), "-c", config)

    assert dropped.returncode == 0, dropped.output
    assert "no longer a dead letter" in dropped.stdout
    assert f"store {world.store} open (operator)" in dropped.stderr
    after = await notifier.run("outbox", "--json", "--status", "dead", "-c", config)
    assert json.loads(after.stdout)["deliveries"] == []
    aside = json.loads(
        (await notifier.run("outbox", "--json", "--status", "skipped", "-c", config)).stdout
    )
    (kept,) = aside["deliveries"]
    assert kept["id"] == bounced["id"]
    assert kept["reason"] == f"dropped by operator; was dead: 550 {LONG_REFUSAL}"
