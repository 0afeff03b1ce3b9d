"""Renders one job event into the subject, plain text and HTML of its email.

Owns the subjects, the context the templates get and the layouts' shared part; the facts
table is facts.py's, the Jinja2 environments templating.py's. Never builds headers or sends
anything: see `message.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob
from notifier.mail.facts import Fact, table_of_facts
from notifier.mail.files_so_far import files_so_far
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import N_, bcp47, negotiate_locale, translations
from notifier.mail.plain_text import table
from notifier.mail.safe_text import body_text, header_text, truncate
from notifier.mail.style import BANNERS, style_for
from notifier.mail.templating import environment

SUBJECT_NAME_LIMIT = 80
BODY_NAME_LIMIT = 500

# Languages written without spaces between sentences.
_NO_SENTENCE_GAP = frozenset({"ja", "zh_Hans", "zh_Hant"})

# The colon after a label in the plain-text table: French sets it off with a no-break
# space, Chinese and Japanese text uses the full-width one.
_COLONS = {"fr": "\u00a0:", "ja": "\uff1a", "zh_Hans": "\uff1a", "zh_Hant": "\uff1a"}

SUBJECTS: dict[str, str] = {
    "queued": N_("IPS job queued: %(name)s"),
    "started": N_("IPS job started: %(name)s"),
    # TRANSLATORS: %(percent)s is a formatted percentage such as "50%" or "50 %".
    "progress": N_("IPS job %(percent)s complete: %(name)s"),
    "stalled": N_("IPS job making no progress: %(name)s"),
    "stopping": N_("IPS job stopping: %(name)s"),
    # TRANSLATORS: must not look like "finished, outcome unknown" at a glance in an inbox.
    "succeeded": N_("IPS job completed successfully: %(name)s"),
    "warnings": N_("IPS job completed with warnings: %(name)s"),
    "failed": N_("IPS job failed: %(name)s"),
    "stopped": N_("IPS job stopped: %(name)s"),
    "unknown": N_("IPS job finished, outcome unknown: %(name)s"),
}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """The localized parts of one email.

    `catalog` is the negotiated catalog name; `language` the BCP 47 tag of the locale the
    email is written and formatted for (the job's own, ``zh-Hant-HK``, when it belongs to
    the catalog's language), for Content-Language; "" means the catalog's.
    """

    catalog: str
    subject: str
    text: str
    html: str
    language: str = ""

    @property
    def content_language(self) -> str:
        return self.language or bcp47(self.catalog)


@dataclass(frozen=True, slots=True)
class Links:
    """What the footer and the advice may point to, from the configuration.

    `contact` is an address people may write to (notify.reply_to), `dmc_url` the company's
    Dynamic Media Classic (notify.dmc_url); "" for none.
    """

    contact: str = ""
    dmc_url: str = ""


NO_LINKS = Links()


def render_bodies(
    event: Event,
    completion: Completion | None,
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
    links: Links = NO_LINKS,
) -> RenderedEmail:
    """Subject, text and HTML of the email for `event`, in `locale` (a route's) or else its
    job's, negotiated; formats follow that locale's region when the catalog's language is
    its language."""
    wanted = locale or event.job.locale
    catalog = negotiate_locale(wanted, default_locale)
    messages = translations(catalog)
    fmt = Formatter.for_job(wanted, catalog, timezone)
    status = status_of(event, completion)
    name = _job_name(event.job)
    percent = fmt.percent(event.detail or event.job.progress or 0)
    subject = messages.gettext(SUBJECTS[status]) % {
        "name": truncate(header_text(name), SUBJECT_NAME_LIMIT),
        "percent": percent,
    }
    facts = table_of_facts(event, completion, fmt, messages)
    context = _context(event, completion, status, fmt)
    context.update(layout_context(catalog, fmt, facts, links), subject=subject, percent=percent)
    text = environment(catalog, html=False).get_template(f"{event.kind.value}.j2")
    html = environment(catalog, html=True).get_template(f"{event.kind.value}.j2")
    name_html = Markup('<span dir="auto" style="font-weight:600;">%s</span>') % name
    return RenderedEmail(
        catalog=catalog,
        subject=subject,
        text=tidy_text(text.render(context, layout="layout.txt", name=name)),
        html=html.render(
            context, layout="layout.html", name=name_html, contact=contact_html(links.contact)
        ),
        language=fmt.tag,
    )


def layout_context(
    catalog: str, fmt: Formatter, facts: list[Fact], links: Links
) -> dict[str, object]:
    """What the layouts (layout.txt, layout.html) need of every email: its language and
    style, the facts table in both forms (and the language's colon after a label), the
    contact (for the text part: the HTML part takes `contact_html`) and the link to Dynamic
    Media Classic."""
    return {
        "lang": fmt.tag,
        "style": style_for(catalog),
        "facts": facts,
        "colon": _COLONS.get(catalog, ":"),
        "facts_text": table([(f.label, f.value) for f in facts], colon=_COLONS.get(catalog, ":")),
        "sentence_gap": "" if catalog in _NO_SENTENCE_GAP else " ",
        "contact": links.contact,
        "dmc_url": links.dmc_url,
    }


def contact_html(contact: str) -> Markup | str:
    """The footer's contact as a mailto link; "" for none."""
    if not contact:
        return ""
    # An address is one word: a line break at its "-" would look like part of it.
    return Markup('<a href="mailto:%s" style="color:inherit;white-space:nowrap;">%s</a>') % (
        contact,
        contact,
    )


def status_of(event: Event, completion: Completion | None) -> str:
    """The event kind, or for `finished` the outcome: what the banner and subject show."""
    if event.kind is not EventKind.FINISHED:
        return event.kind.value
    if completion is not None:
        return completion.outcome.value
    return Outcome.STOPPED.value if event.went_through_stopping else Outcome.UNKNOWN.value


def _job_name(job: ActiveJob) -> str:
    name = body_text(job.name or job.original_name or job.job_handle)
    return truncate(name, BODY_NAME_LIMIT)


def _context(
    event: Event,
    completion: Completion | None,
    status: str,
    fmt: Formatter,
) -> dict[str, object]:
    log = completion.log if completion is not None else None
    counts = {
        "succeeded": log.file_success_count if log else None,
        "warning": log.file_warning_count if log else None,
        "error": log.file_error_count if log else None,
    }
    context: dict[str, object] = {
        "kind": event.kind.value,
        "outcome": status if event.kind is EventKind.FINISHED else None,
        "banner": BANNERS[status],
        "handle": header_text(event.job.job_handle),
        "stalled_for": _stalled_for(event, fmt),
        "fatal_error": bool(log and log.fatal_error),
        "progress": _progress_bar(event),
        **files_so_far(event, fmt),
    }
    for key, count in counts.items():
        context[f"{key}_count"] = count
        context[f"{key}_text"] = fmt.number(count) if count is not None else ""
    return context


def _stalled_for(event: Event, fmt: Formatter) -> str:
    since = event.job.last_progress_update
    if event.kind is not EventKind.STALLED or since is None:
        return ""
    return fmt.duration(event.at - since)


def _progress_bar(event: Event) -> int | None:
    if event.kind not in {EventKind.STARTED, EventKind.PROGRESS, EventKind.STALLED}:
        return None
    value = event.detail if event.kind is EventKind.PROGRESS else event.job.progress
    return None if value is None else max(0, min(100, value))


def tidy_text(text: str) -> str:
    """The rendered text part without trailing spaces or runs of empty lines."""
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
