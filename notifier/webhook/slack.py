"""The `slack` webhook payload: a Slack incoming-webhook message in Block Kit.

The shape, as Slack documents it: a JSON object with `text` (shown in notifications, and
as the message where blocks cannot be shown) and `blocks`, at most 50 (docs.slack.dev,
"Sending messages using incoming webhooks"; api.slack.com/reference/block-kit/blocks). A
`header` block's plain_text holds at most 150 characters, a `section`'s text 3,000, its
`fields` at most 10 of 2,000 each; a `context` block at most 10 elements. In mrkdwn, `&`,
`<` and `>` must be escaped as `&amp;`, `&lt;`, `&gt;` (docs.slack.dev, "Formatting message
text"), which also keeps a job name from pinging `<!channel>` or hiding a link. Never
contains anything of the webhook's configuration.
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

HEADER_LIMIT = 150
SECTION_LIMIT = 3_000
FIELD_LIMIT = 2_000
MAX_FIELDS = 10
MAX_BLOCKS = 50
MAX_DIGEST_LINES = 40
"""Job runs listed per group in a digest; the rest are counted ("and 12 more")."""

Message = dict[str, Any]


def slack_message(
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
    fields = [
        _mrkdwn(_fit(f"*{escape(label)}*\n{escape(value)}", FIELD_LIMIT))
        for label, value in said.facts[:MAX_FIELDS]
    ]
    blocks: list[Message] = [_header(said.title), {"type": "section", "fields": fields}]
    if said.advice:
        lines = [f"{number}. {escape(line)}" for number, line in enumerate(said.advice, 1)]
        blocks.append(_section(f"*{escape(said.what_to_do)}*\n" + "\n".join(lines)))
    blocks.append({"type": "context", "elements": [_mrkdwn(escape(said.reference))]})
    return {"text": said.title, "blocks": blocks}


def slack_digest(
    items: Sequence[Held],
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> Message:
    """One message listing held events, failures first, with what to do about them."""
    summary = summarize(items, locale=locale, default_locale=default_locale, timezone=timezone)
    blocks: list[Message] = [_header(summary.subject)]
    for group, count in summary.counts:
        blocks.append(_section(_group_text(summary, group, count)))
        advice = summary.advice(group)
        if advice:
            lines = [f"{number}. {escape(line)}" for number, line in enumerate(advice, 1)]
            what = escape(translations(summary.catalog).gettext(WHAT_TO_DO))
            blocks.append(
                {"type": "context", "elements": [_mrkdwn(f"*{what}*\n" + "\n".join(lines))]}
            )
    return {"text": summary.subject, "blocks": blocks[:MAX_BLOCKS]}


def escape(text: str) -> str:
    """Text shown literally in mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _group_text(summary: DigestSummary, group: str, count: int) -> str:
    entries = [entry for entry in summary.entries if entry.group == group]
    heading = f"*{escape(summary.group_name(group))}: {count}*"
    lines = []
    for entry in entries[:MAX_DIGEST_LINES]:
        detail = (
            f" · {escape(entry.status_text)}"
            if entry.status_text != summary.group_name(group)
            else ""
        )
        if entry.already_sent:
            detail += f" · {escape(translations(summary.catalog).gettext(ALREADY_SENT))}"
        lines.append(f"• {escape(entry.name)} · {escape(entry.time_text)}{detail}")
    more = len(entries) - MAX_DIGEST_LINES
    text = "\n".join([heading, *lines])
    if more > 0:
        text += "\n" + more_text(summary.catalog, more)
    return _fit(text, SECTION_LIMIT)


def _more(catalog: str, count: int) -> str:
    return translations(catalog).ngettext("… and %(num)s more", "… and %(num)s more", count) % {
        "num": count
    }


def _header(text: str) -> Message:
    return {"type": "header", "text": {"type": "plain_text", "text": _fit(text, HEADER_LIMIT)}}


def _section(text: str) -> Message:
    return {"type": "section", "text": _mrkdwn(_fit(text, SECTION_LIMIT))}


def _mrkdwn(text: str) -> Message:
    return {"type": "mrkdwn", "text": text}


def _fit(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside an escape such as `&amp;`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp > len(cut) - len("&amp;") and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
