"""Renders one job event into the subject, plain text and HTML of its email.

Owns the Jinja2 environments, the words the code itself contributes (subjects, names of job
types, states and outcomes, the labels of the facts table) and the cleaning of text that
comes from IPS. Never builds headers or sends anything: see `message.py`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket
from markupsafe import Markup

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import N_, bcp47, negotiate_locale, translations
from notifier.mail.safe_text import body_text, header_text, truncate

SUBJECT_NAME_LIMIT = 80
BODY_NAME_LIMIT = 500
DESCRIPTION_LIMIT = 2_000

# Languages written without spaces between sentences.
_NO_SENTENCE_GAP = frozenset({"ja", "zh_Hans", "zh_Hant"})

SUBJECTS: dict[str, str] = {
    "queued": N_("IPS job queued: %(name)s"),
    "started": N_("IPS job started: %(name)s"),
    # TRANSLATORS: %(percent)s is a formatted percentage such as "50%" or "50 %".
    "progress": N_("IPS job %(percent)s complete: %(name)s"),
    "stalled": N_("IPS job making no progress: %(name)s"),
    "stopping": N_("IPS job stopping: %(name)s"),
    "succeeded": N_("IPS job completed: %(name)s"),
    "warnings": N_("IPS job completed with warnings: %(name)s"),
    "failed": N_("IPS job failed: %(name)s"),
    "stopped": N_("IPS job stopped: %(name)s"),
    "unknown": N_("IPS job finished: %(name)s"),
}

OUTCOME_NAMES: dict[Outcome, str] = {
    Outcome.SUCCEEDED: N_("Completed successfully"),
    Outcome.WARNINGS: N_("Completed with warnings"),
    Outcome.FAILED: N_("Failed"),
    Outcome.STOPPED: N_("Stopped"),
    Outcome.UNKNOWN: N_("Outcome unknown"),
}

STATE_NAMES: dict[JobState, str] = {
    JobState.UNKNOWN: N_("Unknown"),
    JobState.NEW: N_("New"),
    JobState.WAITING_CLIENT: N_("Waiting"),
    JobState.WAITING_COORDINATOR: N_("Waiting"),
    JobState.RUNNING: N_("Running"),
    JobState.STOPPING: N_("Stopping"),
    JobState.DONE: N_("Done"),
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
}


@dataclass(frozen=True, slots=True)
class Banner:
    background: str
    muted: str
    tint: str
    symbol: str


_BLUE = Banner("#175cd3", "#d1e0ff", "#eff4ff", "\u25b8")
_AMBER = Banner("#b54708", "#fedf89", "#fffaeb", "!")
_GREY = Banner("#475467", "#d0d5dd", "#f2f4f7", "\u25a0")
BANNERS: dict[str, Banner] = {
    "queued": Banner("#344054", "#d0d5dd", "#f2f4f7", "\u2026"),
    "started": _BLUE,
    "progress": _BLUE,
    "stalled": _AMBER,
    "stopping": _GREY,
    "succeeded": Banner("#067647", "#abefc6", "#ecfdf3", "\u2713"),
    "warnings": _AMBER,
    "failed": Banner("#b42318", "#fecdca", "#fef3f2", "\u2715"),
    "stopped": _GREY,
    "unknown": Banner("#475467", "#d0d5dd", "#f2f4f7", "?"),
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
    """The localized parts of one email; `catalog` is the negotiated catalog name."""

    catalog: str
    subject: str
    text: str
    html: str


def render_bodies(
    event: Event,
    completion: Completion | None,
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> RenderedEmail:
    """Subject, text and HTML of the email for `event`, in `locale` (a route's) or else its
    job's, negotiated."""
    catalog = negotiate_locale(locale or event.job.locale, default_locale)
    gettext = translations(catalog).gettext
    fmt = Formatter.for_catalog(catalog, timezone)
    status = status_of(event, completion)
    name = _job_name(event.job)
    percent = fmt.percent(event.detail or event.job.progress or 0)
    subject = gettext(SUBJECTS[status]) % {
        "name": truncate(header_text(name), SUBJECT_NAME_LIMIT),
        "percent": percent,
    }
    context = _context(event, completion, status, fmt, gettext)
    context.update(subject=subject, percent=percent, lang=bcp47(catalog))
    context["sentence_gap"] = "" if catalog in _NO_SENTENCE_GAP else " "
    text = _environment(catalog, html=False).get_template(f"{event.kind.value}.j2")
    html = _environment(catalog, html=True).get_template(f"{event.kind.value}.j2")
    name_html = Markup('<span dir="auto" style="font-weight:600;">%s</span>') % name
    return RenderedEmail(
        catalog=catalog,
        subject=subject,
        text=_tidy_text(text.render(context, layout="layout.txt", name=name)),
        html=html.render(context, layout="layout.html", name=name_html),
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
    gettext: Callable[[str], str],
) -> dict[str, object]:
    log = completion.log if completion is not None else None
    counts = {
        "succeeded": log.file_success_count if log else None,
        "warning": log.file_warning_count if log else None,
        "error": log.file_error_count if log else None,
    }
    facts = _facts(event, completion, status, fmt, gettext)
    context: dict[str, object] = {
        "kind": event.kind.value,
        "outcome": status if event.kind is EventKind.FINISHED else None,
        "banner": BANNERS[status],
        "facts": facts,
        "facts_text": facts_text(facts),
        "handle": header_text(event.job.job_handle),
        "stalled_for": _stalled_for(event, fmt),
        "fatal_error": bool(log and log.fatal_error),
        "progress": _progress_bar(event),
    }
    for key, count in counts.items():
        context[f"{key}_count"] = count
        context[f"{key}_text"] = fmt.number(count) if count is not None else ""
    return context


def _facts(
    event: Event,
    completion: Completion | None,
    status: str,
    fmt: Formatter,
    gettext: Callable[[str], str],
) -> list[Fact]:
    job = event.job
    log = completion.log if completion is not None else None
    finished = event.kind is EventKind.FINISHED
    started = job.start_date or (log.start_date if log else None)
    facts = [Fact(gettext("Job"), _job_name(job), user_text=True)]
    if finished:
        facts.append(Fact(gettext("Outcome"), gettext(OUTCOME_NAMES[Outcome(status)])))
    else:
        facts.append(Fact(gettext("State"), _state_name(job, gettext)))
    facts.append(Fact(gettext("Job type"), _type_name(job, gettext)))
    # TRANSLATORS: a label; the value beside it is the date and time the job started.
    facts.append(Fact(gettext("Started"), fmt.datetime(started) if started else gettext("Unknown")))
    if finished:
        facts.extend(_end_facts(completion, started, fmt, gettext))
    elif job.progress is not None:
        facts.append(Fact(gettext("Progress"), fmt.percent(job.progress)))
    if event.kind is EventKind.STALLED and job.last_progress_update is not None:
        facts.append(Fact(gettext("Last progress"), fmt.datetime(job.last_progress_update)))
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


def _state_name(job: ActiveJob, gettext: Callable[[str], str]) -> str:
    if job.state in STATE_NAMES:
        return gettext(STATE_NAMES[job.state])
    return body_text(job.state_raw) or gettext("Unknown")


def _type_name(job: ActiveJob, gettext: Callable[[str], str]) -> str:
    if job.type in JOB_TYPE_NAMES:
        return gettext(JOB_TYPE_NAMES[job.type])
    return body_text(job.type_raw) or gettext("Unknown")


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


def facts_text(facts: list[Fact]) -> str:
    """The facts table for the plain-text part, labels padded to one display width."""
    width = max(_display_width(fact.label) for fact in facts) + 2
    lines = []
    for fact in facts:
        pad = " " * (width - _display_width(fact.label))
        indent = "\n" + " " * width
        lines.append(f"{fact.label}:{pad[1:]}{fact.value.replace(chr(10), indent)}")
    return "\n".join(lines)


@lru_cache(maxsize=1024)  # the labels are a few fixed strings per catalog
def _display_width(value: str) -> int:
    if value.isascii():
        return len(value)
    return sum(2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1 for ch in value)


def _tidy_text(text: str) -> str:
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
    env.install_gettext_translations(translations(catalog), newstyle=True)  # type: ignore[attr-defined]
    return env
