"""The gallery's emails (`make gallery`, docs/emails/): every event and outcome, and a digest,
in every catalog, as a configured notifier would send them about the sample job.

Owns the sample configuration (contact, Dynamic Media Classic link, a job locale per catalog)
and the sample digest's burst. Never reads configuration, the store or the network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.core.events import Completion, Event, EventKind, Outcome, event_id
from notifier.mail.digest import build_digest, render_digest
from notifier.mail.digest_summary import summarize
from notifier.mail.message import OutgoingEmail, build_message
from notifier.mail.preview import SAMPLE_SENDER, SAMPLE_TIMEZONE, sample_completion, sample_event
from notifier.mail.render import Links, render_bodies

SAMPLE_REPLY_TO = "DMC Team <dmc-team@example.com>"
SAMPLE_DMC_URL = "https://dmc.example.com/"
DIGEST = "digest"
"""The gallery's name for the digest email, beside the event kinds and outcomes."""

# A job locale per catalog, as IPS would report it.
GALLERY_LOCALES: dict[str, str] = {
    "en": "en-US",
    "de": "de-DE",
    "es": "es-ES",
    "fr": "fr-FR",
    "it": "it-IT",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nl": "nl-NL",
    "pt_BR": "pt-BR",
    "sv": "sv-SE",
    "zh_Hans": "zh-CN",
    "zh_Hant": "zh-TW",
}

# The sample digest: twelve publish jobs of one submitter finishing within minutes, the first
# five of which went out one by one before the rest were held (`digest.after = 5`).
_BURST: tuple[tuple[str, Outcome], ...] = (
    ("Spring catalog 2026 – product images", Outcome.SUCCEEDED),
    ("Summer lookbook", Outcome.SUCCEEDED),
    ("Store banners – week 12", Outcome.FAILED),
    ("Product 360 spins", Outcome.SUCCEEDED),
    ("Homepage hero images", Outcome.WARNINGS),
    ("Outlet images", Outcome.SUCCEEDED),
    ("Size charts", Outcome.SUCCEEDED),
    ("Brand logos", Outcome.FAILED),
    ("Video thumbnails", Outcome.SUCCEEDED),
    ("Press kit", Outcome.SUCCEEDED),
    ("Catalogue PDFs", Outcome.SUCCEEDED),
    ("Gift guide", Outcome.SUCCEEDED),
)
_SENT_SINGLY = 5


@dataclass(frozen=True, slots=True)
class GalleryEmail:
    """One sample email: `status` is the event kind, the outcome for finished, or `DIGEST`."""

    catalog: str
    status: str
    message: OutgoingEmail
    html: str


@dataclass(frozen=True, slots=True)
class SampleHeld:
    """One job of the sample digest, as the delivery loop hands it over."""

    event: Event
    completion: Completion | None
    already_sent: bool = False


def gallery(sent: datetime) -> list[GalleryEmail]:
    """Every event and outcome in every catalog, then the catalog's digest, as configured
    with a contact and a Dynamic Media Classic link, dated `sent`."""
    links = Links(contact="dmc-team@example.com", dmc_url=SAMPLE_DMC_URL)
    emails = []
    for catalog, tag in GALLERY_LOCALES.items():
        for kind in EventKind:
            outcomes = list(Outcome) if kind is EventKind.FINISHED else [None]
            for outcome in outcomes:
                event = sample_event(kind, tag)
                completion = sample_completion(outcome) if outcome is not None else None
                message = build_message(
                    event,
                    completion,
                    sender=SAMPLE_SENDER,
                    timezone=SAMPLE_TIMEZONE,
                    reply_to=SAMPLE_REPLY_TO,
                    dmc_url=SAMPLE_DMC_URL,
                    date=sent,
                )
                html = render_bodies(event, completion, timezone=SAMPLE_TIMEZONE, links=links).html
                status = outcome.value if outcome is not None else kind.value
                emails.append(GalleryEmail(catalog, status, message, html))
        emails.append(_digest(catalog, tag, sent, links))
    return emails


def sample_burst(locale: str | None) -> list[SampleHeld]:
    """The sample digest's jobs, oldest first, a minute apart."""
    finished = sample_event(EventKind.FINISHED, locale)
    items = []
    for n, (name, outcome) in enumerate(_BURST):
        handle = f"47|{name}|"
        job = dataclasses.replace(finished.job, name=name, original_name=name, job_handle=handle)
        at = finished.at + timedelta(minutes=n)
        event = dataclasses.replace(
            finished,
            job=job,
            at=at,
            id=event_id(job.company_handle, handle, 1, EventKind.FINISHED, 0),
        )
        completion = dataclasses.replace(sample_completion(outcome), ended_at=at)
        items.append(SampleHeld(event, completion, already_sent=n < _SENT_SINGLY))
    return items


def _digest(catalog: str, tag: str, sent: datetime, links: Links) -> GalleryEmail:
    items = sample_burst(tag)
    message = build_digest(
        items,
        digest_id=f"gallery-{catalog}",
        sender=SAMPLE_SENDER,
        to=items[0].event.job.submit_user_email or "",
        date=sent,
        timezone=SAMPLE_TIMEZONE,
        reply_to=SAMPLE_REPLY_TO,
        dmc_url=SAMPLE_DMC_URL,
    )
    html = render_digest(summarize(items, timezone=SAMPLE_TIMEZONE), links=links).html
    return GalleryEmail(catalog, DIGEST, message, html)
