"""The `teams` webhook payload: a Teams incoming-webhook message with one Adaptive Card.

The shape Microsoft documents for incoming webhooks (MicrosoftDocs/msteams-docs,
webhooks-and-connectors/how-to/connectors-using.md, "Send adaptive cards using an incoming
webhook"; Workflows webhooks take the same body): `"type": "message"` and `attachments`, each
with `"contentType": "application/vnd.microsoft.card.adaptive"`, `"contentUrl": null` and
the card as `content` (`"type": "AdaptiveCard"`, `$schema`, `version`, `body`). The card
uses TextBlock and FactSet only, both in Adaptive Cards 1.0, so every Teams client shows it.
The legacy Office 365 connector MessageCard is not used: connectors are being retired.

A TextBlock is read as Markdown, and Teams clients do not agree on backslash escapes; so
IPS text has its link syntax broken ("](" becomes "] (") and can at worst look bold, never
link anywhere. Never contains anything of the webhook's configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from notifier.core.events import Completion, Event
from notifier.mail.digest_summary import (
    ALREADY_SENT,
    WHAT_TO_DO,
    DigestSummary,
    Held,
    summarize,
)
from notifier.mail.i18n import translations
from notifier.webhook.notice import more_text, notice

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.2"
MAX_DIGEST_FACTS = 40
"""Job runs listed per group in a digest card; the rest are counted ("and 12 more")."""

_COLORS = {"failed": "Attention", "stalled": "Warning", "warnings": "Warning"}
_COLORS |= {"succeeded": "Good"}

Message = dict[str, Any]


def teams_message(
    event: Event,
    completion: Completion | None,
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> Message:
    """The message about one event, in `locale` (a route's), else in the job's language."""
    said = notice(
        event, completion, locale=locale, default_locale=default_locale, timezone=timezone
    )
    body: list[Message] = [
        _text(said.title, size="Large", weight="Bolder", color=_COLORS.get(said.status)),
        _facts(said.facts),
    ]
    body += _advice(said.what_to_do, said.advice)
    body.append(_text(said.reference, size="Small", subtle=True))
    return _message(body, said.title)


def teams_digest(
    items: Sequence[Held],
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> Message:
    """One card listing held events, failures first, with what to do about them."""
    summary = summarize(items, locale=locale, default_locale=default_locale, timezone=timezone)
    color = _COLORS.get(summary.counts[0][0]) if summary.counts else None
    body: list[Message] = [_text(summary.subject, size="Large", weight="Bolder", color=color)]
    for group, count in summary.counts:
        body += _group(summary, group, count)
    return _message(body, summary.subject)


def plain(text: str) -> str:
    """IPS text that Markdown cannot turn into a link."""
    return text.replace("](", "] (")


def _group(summary: DigestSummary, group: str, count: int) -> list[Message]:
    name = summary.group_name(group)
    entries = [entry for entry in summary.entries if entry.group == group]
    facts = []
    for entry in entries[:MAX_DIGEST_FACTS]:
        detail = f" · {entry.status_text}" if entry.status_text != name else ""
        if entry.already_sent:
            detail += f" · {translations(summary.catalog).gettext(ALREADY_SENT)}"
        facts.append((entry.name, entry.time_text + detail))
    parts = [
        _text(f"{name}: {count}", weight="Bolder", color=_COLORS.get(group), separator=True),
        _facts(facts),
    ]
    if len(entries) > MAX_DIGEST_FACTS:
        parts.append(_text(more_text(summary.catalog, len(entries) - MAX_DIGEST_FACTS)))
    gettext = translations(summary.catalog).gettext
    return parts + _advice(gettext(WHAT_TO_DO), summary.advice(group))


def _advice(heading: str, lines: Sequence[str]) -> list[Message]:
    if not lines:
        return []
    items = [_text(f"{number}. {line}") for number, line in enumerate(lines, 1)]
    return [_text(heading, weight="Bolder"), *items]


def _message(body: list[Message], summary: str) -> Message:
    card = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    card["fallbackText"] = plain(summary)
    attachment = {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def _facts(facts: Sequence[tuple[str, str]]) -> Message:
    return {
        "type": "FactSet",
        "facts": [{"title": plain(label), "value": plain(value)} for label, value in facts],
    }


def _text(
    text: str,
    *,
    size: str | None = None,
    weight: str | None = None,
    color: str | None = None,
    subtle: bool = False,
    separator: bool = False,
) -> Message:
    block: Message = {"type": "TextBlock", "text": plain(text), "wrap": True}
    for key, value in (("size", size), ("weight", weight), ("color", color)):
        if value:
            block[key] = value
    if subtle:
        block["isSubtle"] = True
    if separator:
        block["separator"] = True
    return block
