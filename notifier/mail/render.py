"""Renders one job event into the subject, plain text and HTML of its email.

Owns the Jinja2 environments, the words the code itself contributes (subjects, names of job
types, states and outcomes, the labels of the facts table) and the cleaning of text that
comes from IPS. Never builds headers or sends anything: see `message.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from gettext import GNUTranslations

from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket
from markupsafe import Markup

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.mail.files_so_far import files_so_far
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import N_, bcp47, negotiate_locale, translations
from notifier.mail.plain_text import bullets, paragraph, table
from notifier.mail.safe_text import body_text, header_text, truncate
from notifier.mail.style import BANNERS, style_for

SUBJECT_NAME_LIMIT = 80
BODY_NAME_LIMIT = 500
DESCRIPTION_LIMIT = 2_000

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

STATE_NAMES: dict[JobState, str] = {
    JobState.NEW: N_("New"),
    JobState.WAITING_CLIENT: N_("Waiting"),
    JobState.WAITING_COORDINATOR: N_("Waiting"),
    JobState.RUNNING: N_("Running"),
    JobState.STOPPING: N_("Stopping"),
    JobState.DONE: N_("Done"),
}

# The states each event's headline already states: a State row would only repeat it.
_STATES_SAID: dict[EventKind, frozenset[JobState]] = {
    EventKind.QUEUED: frozenset(
        {JobState.NEW, JobState.WAITING_CLIENT, JobState.WAITING_COORDINATOR}
    ),
    EventKind.STARTED: frozenset({JobState.RUNNING}),
    EventKind.PROGRESS: frozenset({JobState.RUNNING}),
    EventKind.STALLED: frozenset({JobState.RUNNING}),
    EventKind.STOPPING: frozenset({JobState.STOPPING}),
    EventKind.FINISHED: frozenset(JobState),
}

JOB_TYPE_NAMES: dict[JobType, str] = {
    JobType.IMAGE_SERVING_PUBLISH: N_("Image Serving publish"),
    JobType.IMAGE_RENDERING_PUBLISH: N_("Image Rendering publish"),
    JobType.SERVER_DIRECTORY_PUBLISH: N_("Server directory publish"),
    JobType.SERVER_DIRECTORY_PUBLISH_WITH_TEMPLATE: N_("Server directory publish with template"),
    JobType.VIDEO_PUBLISH: N_("Video publish"),
    JobType.UPLOAD_FROM_SERVER_DIRECTORY: N_("Upload from server directory"),
    JobType.URL_UPLOAD: N_("Upload from URLs"),
    JobType.METADATA_UPLOAD: N_("Metadata upload"),
    JobType.IMAGE_OPTIMIZATION: N_("Image optimization"),
    JobType.CLEANUP: N_("Cleanup"),
    # Kinds IPS names only by their job-detail element (2014-04-03).
    JobType.METADATA_PUBLISH: N_("Metadata publish"),
    JobType.UPLOAD_POST: N_("HTTP upload"),
    JobType.RIP_PDFS: N_("PDF processing"),
    JobType.REPROCESS_ASSETS: N_("Asset reprocessing"),
    JobType.CREATE_VIDEO_SITEMAP: N_("Video sitemap creation"),
    JobType.EXPORT: N_("Export"),
    JobType.AUTOMATED_SET_GENERATION: N_("Automated set generation"),
}


@dataclass(frozen=True, slots=True)
class Fact:
    """One row of the facts table.

    `user_text` marks text from IPS (its direction unknown); `tone` colours counts that need
    attention: "error" or "warning".
    """

    label: str
    value: str
    user_text: bool = False
    tone: str = ""


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
    facts = _facts(event, completion, fmt, messages)
    context = _context(event, completion, status, fmt)
    context.update(layout_context(catalog, fmt, facts, links), subject=subject, percent=percent)
    text = _environment(catalog, html=False).get_template(f"{event.kind.value}.j2")
    html = _environment(catalog, html=True).get_template(f"{event.kind.value}.j2")
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


def _facts(
    event: Event,
    completion: Completion | None,
    fmt: Formatter,
    messages: GNUTranslations,
) -> list[Fact]:
    """The rows under the advice: what the headline and summary do not already say (the
    job's name and its state or outcome are there)."""
    gettext = messages.gettext
    job = event.job
    log = completion.log if completion is not None else None
    started = job.start_date or (log.start_date if log else None)
    facts = []
    if job.state not in _STATES_SAID[event.kind]:
        facts.append(Fact(gettext("State"), _state_name(job, messages)))
    facts.append(Fact(gettext("Job type"), _type_name(job, messages)))
    # TRANSLATORS: a label; the value beside it is the date and time the job started.
    started_label = gettext("Started")
    # TRANSLATORS: shown instead of a date and time that IPS did not report.
    unknown_date = messages.pgettext("date", "Unknown")
    facts.append(Fact(started_label, fmt.datetime(started) if started else unknown_date))
    if event.kind is EventKind.FINISHED:
        facts.extend(_end_facts(completion, started, fmt, gettext))
    elif job.progress is not None:
        facts.append(Fact(gettext("Progress"), fmt.percent(job.progress)))
    if event.kind is EventKind.STALLED and job.last_progress_update is not None:
        label = gettext("Last progress update")
        facts.append(Fact(label, fmt.datetime(job.last_progress_update)))
    facts.append(Fact(gettext("Time zone"), fmt.zone_name()))
    if job.total_size:
        facts.append(Fact(gettext("Size"), fmt.size(job.total_size)))
    if log is not None:
        facts.extend(_count_facts(log.file_success_count, gettext("Files processed"), fmt, ""))
        warnings = gettext("Files with warnings")
        facts.extend(_count_facts(log.file_warning_count, warnings, fmt, "warning"))
        facts.extend(_count_facts(log.file_error_count, gettext("Files with errors"), fmt, "error"))
    description = body_text(job.description or "", multiline=True)
    if description:
        facts.append(
            Fact(gettext("Description"), truncate(description, DESCRIPTION_LIMIT), user_text=True)
        )
    return facts


def _end_facts(
    completion: Completion | None,
    started: datetime | None,
    fmt: Formatter,
    gettext: Callable[[str], str],
) -> list[Fact]:
    if completion is None or completion.ended_at is None:
        return []
    facts = [Fact(gettext("Ended"), fmt.datetime(completion.ended_at))]
    duration = completion.duration
    if duration is None and started is not None:
        duration = completion.ended_at - started
    if duration is not None:
        facts.append(Fact(gettext("Duration"), fmt.duration(duration)))
    return facts


def _count_facts(count: int | None, label: str, fmt: Formatter, tone: str) -> list[Fact]:
    if count is None:
        return []
    return [Fact(label, fmt.number(count), tone=tone if count else "")]


def _state_name(job: ActiveJob, messages: GNUTranslations) -> str:
    if job.state is JobState.UNKNOWN:
        return messages.pgettext("job state", "Unknown")
    if job.state in STATE_NAMES:
        return messages.gettext(STATE_NAMES[job.state])
    # TRANSLATORS: the state of a job that IPS did not name.
    return body_text(job.state_raw) or messages.pgettext("job state", "Unknown")


def _type_name(job: ActiveJob, messages: GNUTranslations) -> str:
    if job.type in JOB_TYPE_NAMES:
        return messages.gettext(JOB_TYPE_NAMES[job.type])
    # TRANSLATORS: the type of a job that IPS did not name.
    return body_text(job.type_raw) or messages.pgettext("job type", "Unknown")


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


def warm_up(default_locale: str = "en") -> None:
    """Compile every template now, rather than with the first email of each kind (about
    25 ms each, felt as latency when several changes arrive in one poll). The compiled code
    serves every catalog; only the default one is loaded here."""
    catalog = negotiate_locale(None, default_locale)
    for html in (False, True):
        env = _environment(catalog, html=html)
        for name in env.list_templates():
            env.get_template(name)


class _CompiledTemplates(BytecodeCache):
    """The compiled code of the templates, shared by the environments of every catalog.

    The catalogs differ only in the gettext installed, not in the compiled templates, so a
    template is compiled once, not once per catalog. Text and HTML (autoescape) each have one.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = {False: _CompiledTemplates(), True: _CompiledTemplates()}


@cache
def _environment(catalog: str, *, html: bool) -> Environment:
    # The plain-text part is not HTML: escaping it would show "&lt;" to people.
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=html,  # noqa: S701
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with the package: no stat() per email
        bytecode_cache=_COMPILED[html],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.filters["paragraph"] = paragraph
    env.filters["bullets"] = bullets
    env.install_gettext_translations(translations(catalog), newstyle=True)  # type: ignore[attr-defined]
    return env
