"""With `log.format = "json"`, the real process writes one object per line, and each job event
line carries the job's fields, so that a log shipper can find every line about one job; each
sent message is one INFO line with the delivery's fields too."""

from __future__ import annotations

import json

from tests.e2e.conftest import COMPANY, Notifier, World


async def test_event_lines_carry_company_job_handle_and_event(
    world: World, notifier: Notifier
) -> None:
    config = str(world.config(log={"level": "info", "format": "json"}))
    primed = await notifier.run("once", "-c", config)
    assert primed.returncode == 0, primed.output
    job = world.add_job("Katalog Frühjahr", email="jana@example.de", locale="de-DE")

    result = await notifier.run("once", "-c", config)

    assert result.returncode == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    events = [line for line in lines if line.get("event") and "delivery_id" not in line]
    assert len(events) == 1, lines
    (line,) = events
    assert line["level"] == "info"
    assert line["logger"] == "notifier.poller"
    assert line["company"] == COMPANY
    assert line["job_handle"] == job.job_handle
    assert line["job_name"] == "Katalog Frühjahr"
    assert line["event"] == "started"
    assert len(line["event_id"]) >= 16


async def test_every_sent_email_is_one_info_line_with_the_delivery_fields(
    world: World, notifier: Notifier
) -> None:
    config = str(world.config(log={"level": "info", "format": "json"}))
    world.sink.refuse_recipient("bounce@example.com", 550, "5.1.1 No such user")
    assert (await notifier.run("once", "-c", config)).returncode == 0
    job = world.add_job("Katalog Frühjahr", email="marie@example.com", locale="fr-FR")
    bounced = world.add_job("Banner", email="bounce@example.com")

    result = await notifier.run("once", "-c", config)

    assert result.returncode == 0, result.output
    (mail,) = await world.wait_for_mails(1)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    sent = [line for line in lines if line.get("result") == "sent"]
    assert len(sent) == 1, lines  # the email went out once, logged once
    (line,) = sent
    assert line["level"] == "info"
    assert "marie@example.com" in line["message"]
    assert isinstance(line["delivery_id"], int)
    assert line["channel"] == "email"
    assert line["recipient"] == "marie@example.com"
    assert line["message_id"] == mail["Message-ID"]
    assert line["event"] == "started"
    assert line["company"] == COMPANY
    assert line["job_handle"] == job.job_handle
    (dead,) = [line for line in lines if line.get("result") == "dead"]
    assert dead["level"] == "warning"
    assert dead["recipient"] == "bounce@example.com"
    assert dead["job_handle"] == bounced.job_handle
    assert "message_id" not in dead, "nothing was sent"
