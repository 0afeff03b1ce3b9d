"""Routes and digests through the real `notifier` process: team routes hear in their route's
language, a recipient of several routes gets one email per event, `notify.submitter = false`
leaves only the routes, and a digest held in the store survives kill -9."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from email.message import EmailMessage

from notifier.sim import Outcome
from tests.e2e.conftest import COMPANY, Notifier, World
from tests.waiting import wait_until

TEAM_ROUTES = """
[[route]]
events = ["finished"]
outcomes = ["failed"]
to = ["dam-team@example.com"]
locale = "de"

[[route]]
events = ["finished"]
to = ["DAM-Team@example.com", "night-shift@example.com"]
locale = "fr"
"""


def by_recipient(mails: list[EmailMessage]) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = defaultdict(list)
    for mail in mails:
        found[str(mail["To"]).lower()].append(mail)
    return found


def held_rows(world: World) -> int:
    return rows_in(world, "held")


def rows_in(world: World, status: str) -> int:
    with sqlite3.connect(f"file:{world.store}?mode=ro", uri=True) as conn:
        sql = "SELECT count(*) FROM deliveries WHERE status = ?"
        return int(conn.execute(sql, (status,)).fetchone()[0])


async def test_team_routes_hear_in_their_language_once_per_event(
    world: World, notifier: Notifier
) -> None:
    config = world.config(notify={"events": ["started", "finished"]}, tables=TEAM_ROUTES)
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    broken = world.add_job("Broken batch", email="ana@example.com").job_handle
    fine = world.add_job("Fine batch", email="ana@example.com").job_handle
    await world.wait_for_mails(2)
    world.sim.finish_job(COMPANY, broken, Outcome.FAILED)
    world.sim.finish_job(COMPANY, fine, Outcome.SUCCEEDED)
    await world.wait_for_mails(8)
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    mails = by_recipient(world.mails())
    assert sorted(mails) == ["ana@example.com", "dam-team@example.com", "night-shift@example.com"]
    assert len(mails["ana@example.com"]) == 4, "the submitter keeps started and finished"
    team = mails["dam-team@example.com"]
    assert len(team) == 2, "two routes, one email per event"
    assert {m["Content-Language"] for m in team} == {"de"}, "the first route's language"
    assert {m["X-IPS-Job-Outcome"] for m in team} == {"failed", "succeeded"}
    night = mails["night-shift@example.com"]
    assert {m["Content-Language"] for m in night} == {"fr"}
    assert {m["X-IPS-Job-Event"] for m in night} == {"finished"}
    assert {m["Content-Language"] for m in mails["ana@example.com"]} == {"en-US"}
    ids = [str(m["Message-ID"]) for m in world.mails()]
    assert len(set(ids)) == len(ids), "each recipient's copy is its own message"


async def test_submitter_false_leaves_only_the_routes(world: World, notifier: Notifier) -> None:
    route = '\n[[route]]\nevents = ["started"]\nto = ["ops@example.com"]\n'
    config = world.config(notify={"submitter": False}, tables=route)
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    world.add_job("Routed only", email="ana@example.com")
    await world.wait_for_mails(1)
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    assert [m.rcpt_tos for m in world.sink.messages] == [("ops@example.com",)]
    listing = await notifier.run("outbox", "-c", str(config))
    assert "ana@example.com" not in listing.stdout


async def test_a_held_digest_survives_kill_9_and_goes_out_after_the_restart(
    world: World, notifier: Notifier
) -> None:
    config = world.config(notify={"events": ["started"]}, digest={"after": 2, "window": 8})
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    names = [f"Burst job {i}" for i in range(6)]
    for name in names:
        world.add_job(name, email="ana@example.com")
    await world.wait_for_mails(2)
    await wait_until(lambda: held_rows(world) == 4, "4 deliveries held for the digest")
    # Both single emails recorded sent too: a kill between a server's acceptance and the
    # record would rightly repeat that email (in the digest), which is not this test's case.
    await wait_until(lambda: rows_in(world, "sent") == 2, "the 2 single emails recorded sent")
    await daemon.kill()  # SIGKILL: no chance to send or save anything more
    assert held_rows(world) == 4
    assert len(world.sink.messages) == 2

    restarted = await notifier.start(config)
    await world.wait_for_mails(3, within=30)
    await world.polls_pass(3)
    assert await restarted.stop() == 0

    singles, digest = world.mails()[:2], world.mails()[2]
    assert len(world.mails()) == 3
    assert digest["X-IPS-Job-Event"] == "digest"
    assert digest["X-IPS-Digest-Count"] == "6", "the 4 held and the 2 sent before"
    text = plain_text(digest)
    assert {n for n in names if n in text} == set(names), "the digest lists the whole burst"
    sent_singly = {n for m in singles for n in names if n in str(m["Subject"])}
    assert len(sent_singly) == 2
    assert already_sent(text, names) == sent_singly
    assert held_rows(world) == 0


async def test_forty_finished_jobs_reach_their_submitter_in_after_plus_one_emails(
    world: World, notifier: Notifier
) -> None:
    config = world.config(notify={"events": ["finished"]}, digest={"after": 5, "window": 4})
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    names = [f"Bulk upload {i:02}" for i in range(40)]
    handles = [world.add_job(name, email="integration@example.com").job_handle for name in names]
    bob = world.add_job("Someone else's", email="bob@example.com").job_handle
    await world.polls_pass(2)
    for handle in [*handles, bob]:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
    await wait_until(
        lambda: any(m["X-IPS-Job-Event"] == "digest" for m in world.mails()), "the digest"
    )
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    mails = by_recipient(world.mails())
    burst = mails["integration@example.com"]
    assert len(burst) == 5 + 1, "5 one by one, then one digest"
    (digest,) = [m for m in burst if m["X-IPS-Job-Event"] == "digest"]
    text = plain_text(digest)
    assert {n for n in names if n in text} == set(names), "the digest lists all 40"
    assert digest["X-IPS-Digest-Count"] == "40"
    assert str(digest["Subject"]).startswith("40 IPS jobs finished")
    singles = {n for m in burst for n in names if n in str(m["Subject"])}
    assert len(singles) == 5
    assert already_sent(text, names) == singles, "the 5 singles are marked as already sent"
    (bobs,) = mails["bob@example.com"]
    assert bobs["X-IPS-Job-Outcome"] == "succeeded"
    order = [str(m["Message-ID"]) for m in world.mails()]
    assert order.index(str(bobs["Message-ID"])) < order.index(str(digest["Message-ID"])), (
        "a recipient under the threshold is not delayed until the burst's digest"
    )


def plain_text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return body.get_content()


def already_sent(digest_text: str, names: list[str]) -> set[str]:
    """The jobs a digest's text lists as already sent on their own."""
    return {
        name
        for line in digest_text.splitlines()
        for name in names
        if line.startswith(f"- {name} ·") and line.endswith("· already sent")
    }
