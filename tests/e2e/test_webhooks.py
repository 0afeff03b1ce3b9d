"""Webhooks through the real `notifier` process, against a real aiohttp receiver on loopback.

A `[[webhook]]` hears exactly the events its routes send it, signed with its secret (from
`secret_file` or the systemd credential `webhook-<name>`), retried through 503s and a
receiver that hangs, given up on a 400 with the reason in `notifier outbox list`; Slack and
Teams receive their services' documented payloads. The webhook URL's path and query (where
Slack and Teams keep their credential) and the signing secret never appear in anything any
process prints, at debug level.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from notifier.sim import Outcome
from tests.e2e.conftest import COMPANY, Notifier, Transcript, World
from tests.smtp_sink import TlsFiles
from tests.unit.test_webhook_payloads import check_slack, check_teams
from tests.waiting import wait_until
from tests.webhook_receiver import HANG, Answer, Received, WebhookReceiver

SECRET = "whsec-e2e-V6tR9pLq"  # distinctive, to be searched for
CHAT_SECRET = "whsec-chat-e2e-H4mW2sZ"  # distinctive, to be searched for
URL_PATH = "/hooks/T0PSECRET-path-J7wQ"  # where Slack and Teams keep their credential
URL_TOKEN = "sig=Q-token-e2e-X3bN5"
HIDDEN = (SECRET, CHAT_SECRET, URL_PATH.rsplit("/", 1)[1], URL_TOKEN)


@pytest.fixture(autouse=True)
def nothing_secret_printed(transcript: Transcript) -> Iterator[None]:
    """After each test: no secret or secret URL part in anything any process printed."""
    yield
    leaks = [
        f"{label}: {hidden!r}"
        for label, lines in transcript.outputs
        for hidden in HIDDEN
        if any(hidden in line for line in lines)
    ]
    assert not leaks, f"a webhook secret appeared in the output: {leaks}"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    running = WebhookReceiver()
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def webhook(name: str, url: str, *, fmt: str = "json", extra: str = "") -> str:
    return f'\n[[webhook]]\nname = "{name}"\nurl = "{url}"\nformat = "{fmt}"\n{extra}'


def route(*to: str, outcomes: tuple[str, ...] = (), locale: str = "") -> str:
    listed = ", ".join(f'"{t}"' for t in to)
    text = f'\n[[route]]\nevents = ["finished"]\nto = [{listed}]\n'
    if outcomes:
        text += "outcomes = [" + ", ".join(f'"{o}"' for o in outcomes) + "]\n"
    if locale:
        text += f'locale = "{locale}"\n'
    return text


def signed(received: Received, secret: str) -> bool:
    expected = hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return received.headers.get("X-Notifier-Signature") == f"sha256={expected}"


def body(received: Received) -> dict[str, Any]:
    parsed = json.loads(received.body)
    assert isinstance(parsed, dict)
    return parsed


async def finish(world: World, *jobs: tuple[str, Outcome], email: str = "ana@example.com") -> None:
    """Jobs that run, are seen running, then end as given."""
    handles = [(world.add_job(name, email=email).job_handle, outcome) for name, outcome in jobs]
    await world.polls_pass(2)
    for handle, outcome in handles:
        world.sim.finish_job(COMPANY, handle, outcome)


async def test_a_json_webhook_gets_exactly_the_routed_events_signed_through_a_503(
    world: World, notifier: Notifier, receiver: WebhookReceiver
) -> None:
    secret_file = world.dir / "ops-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    url = f"{receiver.base_url}{URL_PATH}?{URL_TOKEN}"
    tables = webhook("ops", url, extra=f'secret_file = "{secret_file}"\n') + route(
        "webhook:ops", outcomes=("failed",)
    )
    config = world.config(
        notify={"events": ["started", "finished"]}, log={"level": "debug"}, tables=tables
    )
    receiver.answers.append(Answer(503, "busy"))
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    await finish(
        world,
        ("Broken batch", Outcome.FAILED),
        ("Fine batch", Outcome.SUCCEEDED),
        ("Also broken", Outcome.FAILED),
    )
    await wait_until(
        lambda: (
            len({r.headers.get("X-Notifier-Event-Id") for r in receiver.received}) == 2
            and len(receiver.received) == 3
        ),
        "two failed jobs at the webhook, one of them twice (503, then 200)",
    )
    await world.wait_for_mails(6)  # Ana's started and finished emails go on as before
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    assert len(receiver.received) == 3, "one retry after the 503, nothing else"
    assert {r.path for r in receiver.received} == {URL_PATH}
    assert {r.query for r in receiver.received} == {URL_TOKEN}
    assert all(signed(r, SECRET) for r in receiver.received), "HMAC-SHA256 of the raw body"
    payloads = [body(r) for r in receiver.received]
    for received, payload in zip(receiver.received, payloads, strict=True):
        assert received.headers["X-Notifier-Event-Id"] == payload["id"]
        assert received.headers["Content-Type"].startswith("application/json")
    first, retried = [
        r for r in receiver.received if r.headers["X-Notifier-Event-Id"] == payloads[0]["id"]
    ]
    assert first.body == retried.body, "a retry sends the same body"
    delivered = {p["job"]["name"]: p for p in payloads}
    assert sorted(delivered) == ["Also broken", "Broken batch"], "only the failed jobs"
    broken = delivered["Broken batch"]
    assert (broken["event"], broken["outcome"]) == ("finished", "failed")
    assert broken["job"]["company_handle"] == COMPANY
    assert broken["job"]["submit_user_email"] == "ana@example.com"
    assert broken["occurred_at"].endswith("Z")
    assert broken["counts"] is not None, "the outcome's counts from the job log"
    assert len(world.mails()) == 6, "the submitter's emails are unchanged by the route"


async def test_slack_and_teams_get_their_documented_payloads_in_the_routes_language(
    world: World, notifier: Notifier, receiver: WebhookReceiver
) -> None:
    credentials = world.dir / "credentials"
    credentials.mkdir()
    (credentials / "webhook-chat").write_text(CHAT_SECRET, encoding="utf-8")
    base = receiver.base_url
    tables = (
        webhook("chat", f"{base}/slack{URL_PATH}", fmt="slack")
        + webhook("board", f"{base}/teams{URL_PATH}?{URL_TOKEN}", fmt="teams")
        + route("webhook:chat", "webhook:board", locale="de")
    )
    config = world.config(notify={"events": ["finished"]}, log={"level": "debug"}, tables=tables)
    daemon = await notifier.start(config, env={"CREDENTIALS_DIRECTORY": str(credentials)})
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    await finish(world, ("Frühjahrskatalog", Outcome.FAILED))
    await wait_until(lambda: len(receiver.received) == 2, "one POST to Slack, one to Teams")
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    assert len(receiver.received) == 2
    (slack,) = [r for r in receiver.received if r.path.startswith("/slack/")]
    (teams,) = [r for r in receiver.received if r.path.startswith("/teams/")]
    assert signed(slack, CHAT_SECRET), "signed with the systemd credential webhook-chat"
    assert "X-Notifier-Signature" not in teams.headers, "no secret configured: unsigned"
    slack_text = "\n".join(check_slack(body(slack)))
    teams_text = "\n".join(check_teams(body(teams)))
    for shown in (slack_text, teams_text):
        assert "Frühjahrskatalog" in shown
        assert "Fehlgeschlagen" in shown or "fehlgeschlagen" in shown, "the route's German"
        assert "Dynamic Media Classic" in shown, "what to do next"


async def test_a_receiver_that_hangs_is_timed_out_and_retried_until_it_answers(
    world: World, notifier: Notifier, receiver: WebhookReceiver
) -> None:
    url = f"{receiver.base_url}{URL_PATH}"
    tables = webhook("ops", url, extra=f'secret = "{SECRET}"\ntimeout = 1\n') + route("webhook:ops")
    config = world.config(notify={"events": ["finished"]}, log={"level": "debug"}, tables=tables)
    receiver.answers.append(Answer(HANG))
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    await finish(world, ("Slow receiver", Outcome.SUCCEEDED))
    await wait_until(lambda: len(receiver.received) == 2, "the POST again after the timeout")
    await daemon.wait_for_log("sent")
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["X-Notifier-Event-Id"] == second.headers["X-Notifier-Event-Id"]
    assert all(signed(r, SECRET) for r in receiver.received)
    assert "webhook 'ops' at http://127.0.0.1:" in daemon.log
    assert "did not answer within 1 s; retrying later" in daemon.log, "the timeout is told"
    listing = await notifier.run("outbox", "list", "-c", str(config))
    assert "webhook:ops" not in listing.stdout, "nothing left owed to the webhook"


async def test_a_400_is_dead_at_once_with_the_reason_in_the_outbox_list(
    world: World, notifier: Notifier, receiver: WebhookReceiver
) -> None:
    url = f"{receiver.base_url}{URL_PATH}?{URL_TOKEN}"
    tables = webhook("ops", url, extra=f'secret = "{SECRET}"\n') + route("webhook:ops")
    config = world.config(notify={"events": ["finished"]}, log={"level": "debug"}, tables=tables)
    receiver.answers.append(Answer(400, "invalid_payload"))
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    await finish(world, ("Refused", Outcome.SUCCEEDED))
    await daemon.wait_for_log("dead")
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    assert len(receiver.received) == 1, "a 400 is not retried"
    listing = await notifier.run("outbox", "list", "-c", str(config))
    assert listing.returncode == 0, listing.output
    (line,) = [line for line in listing.stdout.splitlines() if "webhook:ops" in line]
    assert " dead " in f" {line} " and "400" in line, f"dead, with the reason: {line}"


async def test_check_config_connect_reaches_each_webhook_without_posting(
    world: World, notifier: Notifier, receiver: WebhookReceiver
) -> None:
    tls_files = TlsFiles(world.dir / "ca.pem", world.dir / "server.pem", world.dir / "server.key")
    untrusted = WebhookReceiver()
    untrusted_base = await untrusted.start(tls_files.server_context())
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    tables = (
        webhook("ops", f"{receiver.base_url}{URL_PATH}?{URL_TOKEN}", extra=f'secret = "{SECRET}"')
        + webhook("selfsigned", f"{untrusted_base}{URL_PATH}", extra="timeout = 2")
        + webhook("gone", f"http://127.0.0.1:{closed_port}{URL_PATH}", extra="timeout = 2")
    )
    try:
        config = world.config(log={"level": "debug"}, tables=tables)
        result = await notifier.run("check-config", "--connect", "-c", str(config))
    finally:
        await untrusted.stop()

    assert result.returncode == 1, result.output
    lines = {
        line.split(":", 1)[0].removeprefix("webhook "): line
        for line in result.stdout.splitlines()
        if line.startswith("webhook ")
    }
    assert "reachable" in lines["ops"] and "nothing posted" in lines["ops"], lines["ops"]
    assert "FAILED" in lines["selfsigned"] and "certificate is not trusted" in lines["selfsigned"]
    assert "FAILED" in lines["gone"], lines["gone"]
    assert receiver.received == [] and untrusted.received == [], "nothing was posted"
