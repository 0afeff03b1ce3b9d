"""The digest email: one email listing the events held back for one recipient.

Owns the digest's templates (`templates/digest*`, inside the single emails' layouts), its
banner and facts, and its own headers: `X-IPS-Job-Event: digest`, `X-IPS-Digest-Count`
(the job runs listed) and a Message-ID from the digest's id, so a retried digest is
recognisably the same; the headers every email carries come from message.py. What it says
comes from digest_summary.py. Never decides what is held (core/digest.py and the delivery
loop do) and never sends.
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
from notifier.mail.facts import Fact
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import translations
from notifier.mail.message import OutgoingEmail, compose, links_for, message_id_domain_of
from notifier.mail.render import (
    NO_LINKS,
    Links,
    RenderedEmail,
    contact_html,
    layout_context,
    tidy_text,
)
from notifier.mail.style import BANNERS, Banner
from notifier.mail.templating import environment

DIGEST_EVENT = "digest"
EVENT_HEADER = "X-IPS-Job-Event"
COUNT_HEADER = "X-IPS-Digest-Count"

_TONES = {"failed": "error", "stalled": "warning", "warnings": "warning"}


@dataclass(frozen=True, slots=True)
class _Line:
    name: str
    time_text: str
    detail: str
    sent_text: str = ""

    @property
    def text(self) -> str:
        """The line as the plain-text part lists it: "Spring · Dec 1, 2026, 9:02 AM"."""
        parts = (self.name, self.time_text, self.detail, self.sent_text)
        return " · ".join(part for part in parts if part)


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

    @property
    def reply_to(self) -> str: ...

    @property
    def dmc_url(self) -> str: ...

    @property
    def message_id_domain(self) -> str: ...


def localized_digest(
    items: Sequence[Held],
    *,
    digest_id: str,
    to: str,
    locale: str | None,
    settings: EmailSettings,
) -> OutgoingEmail:
    """`build_digest` as the email channel's DigestBuilder calls it (mail/channel.py): dated
    when it is built, just before it is sent; a retry keeps its Message-ID."""
    return build_digest(
        items,
        digest_id=digest_id,
        sender=settings.sender,
        to=to,
        locale=locale,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        reply_to=settings.reply_to,
        dmc_url=settings.dmc_url,
        message_id_domain=settings.message_id_domain,
    )


def digest_message_id(digest_id: str, domain: str) -> str:
    """`domain` as for single emails: smtp.message_id_domain, else smtp.from's domain."""
    return f"<digest-{digest_id}@{domain}>"


def build_digest(
    items: Sequence[Held],
    *,
    digest_id: str,
    sender: str,
    to: str,
    date: datetime | None = None,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
    reply_to: str = "",
    dmc_url: str = "",
    message_id_domain: str = "",
) -> OutgoingEmail:
    """The digest email of `items` (oldest first) for `to`, dated `date` (now unless given).

    `locale`: the route's language; None for the jobs' own (the most frequent of them).
    `reply_to`, `dmc_url` and `message_id_domain` as for single emails (message.py).
    """
    summary = summarize(items, locale=locale, default_locale=default_locale, timezone=timezone)
    rendered = render_digest(summary, timezone=timezone, links=links_for(reply_to, dmc_url))
    return compose(
        rendered,
        sender=sender,
        to=to,
        message_id=digest_message_id(digest_id, message_id_domain_of(sender, message_id_domain)),
        reply_to=reply_to,
        date=date,
        ips_headers=[(EVENT_HEADER, DIGEST_EVENT), (COUNT_HEADER, str(len(summary.entries)))],
    )


def render_digest(
    summary: DigestSummary, *, timezone: str = "UTC", links: Links = NO_LINKS
) -> RenderedEmail:
    """Subject, text and HTML of the digest email, in the single emails' layouts."""
    catalog = summary.catalog
    gettext = translations(catalog).gettext
    fmt = summary.formatter(timezone)
    facts = [
        Fact(summary.group_name(group), fmt.number(count), tone=_TONES.get(group, ""))
        for group, count in summary.counts
    ]
    facts.append(Fact(gettext(TIME_ZONE), fmt.zone_name()))
    context = layout_context(catalog, fmt, facts, links)
    context.update(
        subject=summary.subject,
        banner=_banner(summary),
        progress=None,
        handle="",
        groups=_groups(summary, fmt),
        what_to_do=gettext(WHAT_TO_DO),
    )
    text = environment(catalog, html=False).get_template("digest.j2")
    html = environment(catalog, html=True).get_template("digest.j2")
    return RenderedEmail(
        catalog=catalog,
        subject=summary.subject,
        text=tidy_text(
            text.render(context, layout="layout.txt", details="digest_list.txt", html=False)
        ),
        html=html.render(
            context,
            layout="layout.html",
            details="digest_list.html",
            html=True,
            contact=contact_html(links.contact),
        ),
        language=fmt.tag,
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
