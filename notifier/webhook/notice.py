"""The words of one chat message about one event, in one language, for slack.py and teams.py.

A title ("IPS job failed: Spring catalogue"), the facts a team needs (job, outcome or state,
type, times, file counts), what to do, and the job's reference, all from the catalogs'
existing msgids (the email's subjects, labels and advice). Pure; never formats for a
particular service and never shows text from IPS uncleaned.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.core.events import Completion, Event, EventKind
from notifier.mail.digest_summary import TIME_ZONE, WHAT_TO_DO, advice, status_name
from notifier.mail.facts import JOB_TYPE_NAMES, STATE_NAMES
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import negotiate_locale, translations
from notifier.mail.render import BODY_NAME_LIMIT, SUBJECT_NAME_LIMIT, SUBJECTS, status_of
from notifier.mail.safe_text import body_text, header_text, truncate

# Labels the email's facts table already translates (the same msgids as render.py).
_STATE, _TYPE = "State", "Job type"
_STARTED, _ENDED, _PROGRESS = "Started", "Ended", "Progress"
_PROCESSED, _WARNINGS, _ERRORS = "Files processed", "Files with warnings", "Files with errors"
_REFERENCE = "Reference: %(handle)s"


@dataclass(frozen=True, slots=True)
class Notice:
    """`status`: the event kind, or for `finished` the outcome (see render.status_of)."""

    catalog: str
    status: str
    title: str
    name: str
    facts: tuple[tuple[str, str], ...]
    what_to_do: str
    advice: tuple[str, ...]
    reference: str


def notice(
    event: Event,
    completion: Completion | None,
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> Notice:
    """The message about `event` in `locale` (a route's), else in the job's own language;
    dates and numbers as that locale's region writes them (en-GB, zh-HK), as in emails."""
    wanted = locale or event.job.locale
    catalog = negotiate_locale(wanted, default_locale)
    gettext = translations(catalog).gettext
    fmt = Formatter.for_job(wanted, catalog, timezone)
    status = status_of(event, completion)
    job = event.job
    name = truncate(body_text(job.name or job.original_name or job.job_handle), BODY_NAME_LIMIT)
    title = gettext(SUBJECTS[status]) % {
        "name": truncate(header_text(name), SUBJECT_NAME_LIMIT),
        "percent": fmt.percent(event.detail or job.progress or 0),
    }
    handle = header_text(job.job_handle)
    return Notice(
        catalog=catalog,
        status=status,
        title=title,
        name=name,
        facts=tuple(_facts(event, completion, status, name, catalog, fmt)),
        what_to_do=gettext(WHAT_TO_DO),
        advice=advice(catalog, status),
        reference=gettext(_REFERENCE) % {"handle": handle},
    )


def _facts(
    event: Event,
    completion: Completion | None,
    status: str,
    name: str,
    catalog: str,
    fmt: Formatter,
) -> list[tuple[str, str]]:
    gettext = translations(catalog).gettext
    job = event.job
    log = completion.log if completion is not None else None
    messages = translations(catalog)
    # TRANSLATORS: labels in chat messages about one job: its name, and what became of it.
    facts = [(messages.pgettext("fact", "Job"), name)]
    if event.kind is EventKind.FINISHED:
        facts.append((messages.pgettext("fact", "Outcome"), status_name(catalog, status)))
    else:
        state = STATE_NAMES.get(job.state)
        state_text = gettext(state) if state else body_text(job.state_raw)
        facts.append((gettext(_STATE), state_text or messages.pgettext("job state", "Unknown")))
    job_type = JOB_TYPE_NAMES.get(job.type)
    type_text = gettext(job_type) if job_type else body_text(job.type_raw)
    facts.append((gettext(_TYPE), type_text or messages.pgettext("job type", "Unknown")))
    started = job.start_date or (log.start_date if log else None)
    started_text = fmt.datetime(started) if started else messages.pgettext("date", "Unknown")
    facts.append((gettext(_STARTED), started_text))
    if completion is not None and completion.ended_at is not None:
        facts.append((gettext(_ENDED), fmt.datetime(completion.ended_at)))
    elif job.progress is not None and event.kind is not EventKind.FINISHED:
        facts.append((gettext(_PROGRESS), fmt.percent(job.progress)))
    if log is not None:
        for label, count in (
            (_PROCESSED, log.file_success_count),
            (_WARNINGS, log.file_warning_count),
            (_ERRORS, log.file_error_count),
        ):
            if count is not None:
                facts.append((gettext(label), fmt.number(count)))
    facts.append((gettext(TIME_ZONE), fmt.zone_name()))
    return facts


def more_text(catalog: str, count: int) -> str:
    """ "… and 12 more": the job runs a chat message had no room to list."""
    # TRANSLATORS: ends a shortened list of jobs in a chat message; %(num)s is a number.
    text = translations(catalog).ngettext("… and %(num)s more", "… and %(num)s more", count)
    return text % {"num": count}
