"""The digest email: one email listing the events held back for one recipient.

Owns the digest's templates (`templates/digest*`, inside the shared layouts), its banner
and facts, and its headers: `X-IPS-Job-Event: digest`, `X-IPS-Digest-Count` (the job runs
listed) and a Message-ID of its own, from the digest's id, so a retried digest is
recognisably the same. What it says comes from digest_summary.py. Never decides what is
held (core/digest.py and the delivery loop do) and never sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from notifier.mail.digest_summary import (
    ALREADY_SENT,
    TIME_ZONE,
    WHAT_TO_DO,
    DigestEntry,
    DigestSummary,
    Held,
    summarize,
)
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import bcp47, translations
from notifier.mail.message import MESSAGE_ID_DOMAIN, OutgoingEmail, compose
from notifier.mail.render import (
    BANNERS,
    Banner,
    Fact,
    RenderedEmail,
    _environment,  # the catalogs' shared, compiled template environments
    facts_text,
)

DIGEST_EVENT = "digest"
EVENT_HEADER = "X-IPS-Job-Event"
COUNT_HEADER = "X-IPS-Digest-Count"

_NO_SENTENCE_GAP = frozenset({"ja", "zh_Hans", "zh_Hant"})
_TONES = {"failed": "error", "stalled": "warning", "warnings": "warning"}


@dataclass(frozen=True, slots=True)
class _Line:
    name: str
    time_text: str
    detail: str
    sent_text: str = ""


@dataclass(frozen=True, slots=True)
class _Group:
    name: str
    count_text: str
    banner: Banner
    entries: tuple[_Line, ...]
    advice: tuple[str, ...]


class EmailSettings(Protocol):
    """What the digest reads of the email channel's settings."""

    @property
    def sender(self) -> str: ...

    @property
    def default_locale(self) -> str: ...

    @property
    def timezone(self) -> str: ...


def localized_digest(
    items: Sequence[Held],
    *,
    digest_id: str,
    to: str,
    locale: str | None,
    settings: EmailSettings,
) -> OutgoingEmail:
    """`build_digest` as the email channel's DigestBuilder calls it (mail/channel.py),
    dated by the latest held event, so that a retried digest is the same email."""
    return build_digest(
        items,
        digest_id=digest_id,
        sender=settings.sender,
        to=to,
        at=max(item.event.at for item in items),
        locale=locale,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
    )


def digest_message_id(digest_id: str) -> str:
    return f"<digest-{digest_id}@{MESSAGE_ID_DOMAIN}>"


def build_digest(
    items: Sequence[Held],
    *,
    digest_id: str,
    sender: str,
    to: str,
    at: datetime,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> OutgoingEmail:
    """The digest email of `items` (oldest first) for `to`, dated `at`.

    `locale`: the route's language; None for the jobs' own (the most frequent of them).
    """
    summary = summarize(items, locale=locale, default_locale=default_locale, timezone=timezone)
    rendered = render_digest(summary, timezone=timezone)
    return compose(
        rendered,
        sender=sender,
        to=to,
        message_id=digest_message_id(digest_id),
        at=at,
        extra=[(EVENT_HEADER, DIGEST_EVENT), (COUNT_HEADER, str(len(summary.entries)))],
    )


def render_digest(summary: DigestSummary, *, timezone: str = "UTC") -> RenderedEmail:
    """Subject, text and HTML of the digest email."""
    catalog = summary.catalog
    gettext = translations(catalog).gettext
    fmt = Formatter.for_catalog(catalog, timezone)
    facts = [
        Fact(summary.group_name(group), fmt.number(count), tone=_TONES.get(group, ""))
        for group, count in summary.counts
    ]
    facts.append(Fact(gettext(TIME_ZONE), fmt.zone_name()))
    context: dict[str, object] = {
        "subject": summary.subject,
        "lang": bcp47(catalog),
        "sentence_gap": "" if catalog in _NO_SENTENCE_GAP else " ",
        "banner": _banner(summary),
        "facts": facts,
        "facts_text": facts_text(facts),
        "progress": None,
        "handle": "",
        "groups": _groups(summary, fmt),
        "what_to_do": gettext(WHAT_TO_DO),
    }
    text = _environment(catalog, html=False).get_template("digest.j2")
    html = _environment(catalog, html=True).get_template("digest.j2")
    return RenderedEmail(
        catalog=catalog,
        subject=summary.subject,
        text=_tidy(
            text.render(context, layout="layout.txt", details="digest_list.txt", html=False)
        ),
        html=html.render(context, layout="layout.html", details="digest_list.html", html=True),
    )


def _groups(summary: DigestSummary, fmt: Formatter) -> list[_Group]:
    sent = translations(summary.catalog).gettext(ALREADY_SENT)
    groups = []
    for group, count in summary.counts:
        entries = [entry for entry in summary.entries if entry.group == group]
        groups.append(
            _Group(
                name=summary.group_name(group),
                count_text=fmt.number(count),
                banner=BANNERS[_banner_key(group)],
                entries=tuple(_line(entry, summary.group_name(group), sent) for entry in entries),
                advice=summary.advice(group),
            )
        )
    return groups


def _line(entry: DigestEntry, group_name: str, sent_text: str) -> _Line:
    detail = entry.status_text if entry.status_text != group_name else ""
    return _Line(
        name=entry.name,
        time_text=entry.time_text,
        detail=detail,
        sent_text=sent_text if entry.already_sent else "",
    )


def _banner(summary: DigestSummary) -> Banner:
    groups = {group for group, _ in summary.counts}
    if "failed" in groups:
        return BANNERS["failed"]
    if groups & {"stalled", "warnings"}:
        return BANNERS["warnings"]
    if groups == {"succeeded"}:
        return BANNERS["succeeded"]
    return BANNERS["unknown"] if summary.all_finished else BANNERS["started"]


def _banner_key(group: str) -> str:
    return {"running": "started"}.get(group, group)


def _tidy(text: str) -> str:
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    tidy = "\n".join(lines)
    while "\n\n\n" in tidy:
        tidy = tidy.replace("\n\n\n", "\n\n")
    return tidy.strip("\n") + "\n"
