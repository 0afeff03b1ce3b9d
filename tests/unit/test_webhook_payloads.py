"""Webhook payloads: our JSON, and Slack's and Teams' incoming-webhook shapes as documented."""

from __future__ import annotations

import json
from typing import Any

import pytest

from notifier.core.events import EventKind, Outcome
from notifier.webhook.payload import digest_payload, encode, event_payload
from notifier.webhook.slack import slack_digest, slack_message
from notifier.webhook.teams import teams_digest, teams_message
from tests.held_items import T0, burst, held

HOSTILE = "<!channel> & <https://evil.example|click> [win](https://evil.example) **x**"


def check_slack(message: dict[str, Any]) -> list[str]:
    """Slack's incoming-webhook message (docs.slack.dev, "Sending messages using incoming
    webhooks"; Block Kit reference): every text it shows, after checking the shape."""
    assert set(message) == {"text", "blocks"}
    assert isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert isinstance(blocks, list) and 0 < len(blocks) <= 50
    shown = [message["text"]]
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
            shown.append(block["text"]["text"])
        elif kind == "section":
            assert ("text" in block) != ("fields" in block)
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn" and len(block["text"]["text"]) <= 3000
                shown.append(block["text"]["text"])
            else:
                assert 0 < len(block["fields"]) <= 10
                for field in block["fields"]:
                    assert field["type"] == "mrkdwn" and len(field["text"]) <= 2000
                    shown.append(field["text"])
        else:
            assert kind == "context"
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert element["type"] == "mrkdwn"
                shown.append(element["text"])
    return shown


def check_teams(message: dict[str, Any]) -> list[str]:
    """Teams' incoming-webhook message with an Adaptive Card (msteams-docs, "Send adaptive
    cards using an incoming webhook"): every text it shows, after checking the shape."""
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["version"] == "1.2"
    shown = [card["fallbackText"]]
    for element in card["body"]:
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
            assert element["wrap"] is True
            assert element.get("size", "Default") in {"Small", "Default", "Large"}
            assert element.get("color", "Default") in {"Default", "Good", "Warning", "Attention"}
            shown.append(element["text"])
        else:
            assert element["type"] == "FactSet"
            for fact in element["facts"]:
                assert set(fact) == {"title", "value"}
                assert isinstance(fact["title"], str) and isinstance(fact["value"], str)
                shown += [fact["title"], fact["value"]]
    json.dumps(message)  # serialisable as it is
    return shown


def test_the_json_payload_carries_the_event_the_job_and_the_counts() -> None:
    item = held("Spring catalogue", outcome=Outcome.FAILED)
    payload = json.loads(encode(event_payload(item.event, item.completion)))
    assert payload["version"] == 1
    assert payload["id"] == item.event.id
    assert payload["event"] == "finished" and payload["outcome"] == "failed"
    assert payload["occurred_at"] == "2026-12-01T09:00:00Z"
    assert payload["run_id"] == item.event.thread_id
    job = payload["job"]
    assert job["company_handle"] == "47" and job["job_handle"] == "47|Spring catalogue|"
    assert job["name"] == "Spring catalogue" and job["type"] == "ImageServingPublish"
    assert job["state"] == "Done" and job["locale"] == "en-US"
    assert job["submit_user_email"] == "maria.rossi@example.com"
    assert job["start_date"] == "2026-03-14T08:02:41Z"
    counts = payload["counts"]
    assert counts["files_with_errors"] == 35 and counts["files_succeeded"] == 1201
    assert payload["ended_at"] == "2026-12-01T09:00:00Z"


def test_other_events_have_a_null_outcome_and_no_counts() -> None:
    item = held("Spring", EventKind.PROGRESS, None)
    payload = event_payload(item.event, item.completion)
    assert payload["event"] == "progress" and payload["progress"] == 50
    assert payload["outcome"] is None and payload["counts"] is None
    assert payload["ended_at"] is None


def test_a_digest_payload_lists_every_job_run_once() -> None:
    items = [*burst(failed=1, succeeded=3), held("Job 00", EventKind.STARTED, None, minute=-5)]
    payload = json.loads(encode(digest_payload("d1g35t", items, T0)))
    assert payload["id"] == "d1g35t" and payload["event"] == "digest"
    assert payload["count"] == 4 == len(payload["events"])
    assert {event["job"]["name"] for event in payload["events"]} == {
        "Job 00",
        "Job 01",
        "Job 02",
        "Job 03",
    }
    assert all(event["event"] == "finished" for event in payload["events"])


def test_the_body_is_utf8_json_even_with_a_broken_name() -> None:
    item = held("Frühjahr 春")
    body = encode(event_payload(item.event, item.completion))
    assert "Frühjahr 春".encode() in body
    broken = held("bad \udc80 name")
    assert json.loads(encode(event_payload(broken.event, None)))["job"]["name"] == "bad \udc80 name"


@pytest.mark.parametrize("outcome", list(Outcome))
def test_slack_messages_have_the_documented_shape(outcome: Outcome) -> None:
    item = held("Spring catalogue", outcome=outcome)
    shown = check_slack(slack_message(item.event, item.completion))
    assert any("Spring catalogue" in text for text in shown)
    advice = any("What to do next" in text for text in shown)
    assert advice is (outcome is not Outcome.SUCCEEDED)


def test_slack_speaks_the_routes_language_and_escapes_job_names() -> None:
    item = held(HOSTILE, outcome=Outcome.FAILED, locale="en-US")
    message = slack_message(item.event, item.completion, locale="de")
    shown = check_slack(message)
    assert message["text"].startswith("IPS-Job fehlgeschlagen:")
    assert any("Nächste Schritte" in text for text in shown)
    mrkdwn = shown[2:]  # after the fallback text and the header's plain text
    assert all("<" not in text and ">" not in text.replace("&gt;", "") for text in mrkdwn)
    assert any("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in t for t in mrkdwn)


def test_a_big_slack_digest_stays_within_slacks_limits() -> None:
    message = slack_digest(burst(failed=70, succeeded=130, locale="fr-FR"))
    shown = check_slack(message)
    assert message["text"] == "200 tâches IPS achevées\xa0: 70 en échec, 130 réussies"
    assert any(text.endswith("… et 30 autres") for text in shown)
    assert any("Prochaines étapes" in text for text in shown)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_teams_messages_have_the_documented_shape(outcome: Outcome) -> None:
    item = held("Spring catalogue", outcome=outcome, locale="ja-JP")
    shown = check_teams(teams_message(item.event, item.completion))
    assert any("Spring catalogue" in text for text in shown)
    assert any("参照" in text for text in shown)


def test_teams_cards_cannot_carry_a_link_from_a_job_name() -> None:
    item = held(HOSTILE, outcome=Outcome.FAILED)
    shown = check_teams(teams_message(item.event, item.completion, locale="fr"))
    assert not any("](" in text for text in shown)
    assert any("[win] (https://evil.example)" in text for text in shown)
    assert shown[0].startswith("Échec de la tâche IPS\xa0:")


def test_a_teams_digest_lists_failures_first_and_counts_the_rest() -> None:
    card = teams_digest(burst(failed=3, succeeded=50))
    shown = check_teams(card)
    assert shown[0] == "53 IPS jobs finished: 3 failed, 50 succeeded"
    assert (
        shown.index("Failed: 3")
        < shown.index("What to do next")
        < shown.index("Completed successfully: 50")
    )
    assert "… and 10 more" in shown


def test_a_long_slack_field_is_cut_short_but_never_inside_an_escape() -> None:
    item = held("&" * 600, outcome=Outcome.FAILED)  # escaped, far over a field's 2,000
    shown = check_slack(slack_message(item.event, item.completion))
    field = next(text for text in shown if text.startswith("*Job*"))
    assert 1_990 < len(field) <= 2_000
    assert field.endswith("&amp;…")


@pytest.mark.parametrize(
    ("locale", "ended"),
    [("en-US", "Dec 1, 2026, 9:00:00\u00a0AM"), ("en-GB", "1 Dec 2026, 09:00:00")],
)
def test_chat_messages_write_dates_as_the_jobs_region_does(locale: str, ended: str) -> None:
    """As in emails: one English catalog, but a British job's dates are British."""
    item = held("Spring catalogue", outcome=Outcome.SUCCEEDED, locale=locale)
    slack = json.dumps(slack_message(item.event, item.completion), ensure_ascii=False)
    teams = json.dumps(teams_message(item.event, item.completion), ensure_ascii=False)
    assert ended in slack and ended in teams


def test_a_digest_for_a_route_in_a_regional_locale_writes_its_dates_that_way() -> None:
    items = burst(failed=1, succeeded=2, locale="en-US")
    british = json.dumps(slack_digest(items, locale="en-GB"), ensure_ascii=False)
    american = json.dumps(slack_digest(items, locale="en-US"), ensure_ascii=False)
    assert "1 Dec 2026" in british and "Dec 1, 2026" not in british
    assert "Dec 1, 2026" in american
