"""What a digest says, in words: its entries, their order, its language and its subject.

Shared by the digest email (digest.py) and the webhook payloads. Each job run is listed
once, by its latest held event; failures first, then what needs attention, then the rest
(`SEVERITY`), oldest first within each. Pure: values in, values out; never renders
templates, builds headers or sends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from gettext import GNUTranslations
from typing import Protocol

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.mail.facts import JOB_TYPE_NAMES
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import N_, negotiate_locale, translations
from notifier.mail.render import BODY_NAME_LIMIT, status_of
from notifier.mail.safe_text import body_text, header_text, truncate

SEVERITY: tuple[str, ...] = (
    "failed",
    "stalled",
    "warnings",
    "stopped",
    "unknown",
    "stopping",
    "succeeded",
    "running",
    "queued",
)
"""The groups of a digest, in the order they are listed and counted."""

_Named = Callable[[GNUTranslations], str]
_Plural = Callable[[GNUTranslations, int], str]

STATUS_NAMES: dict[str, _Named] = {
    # TRANSLATORS: "status" names what became of a job, in a digest's headings and in chat
    # messages; the same words as the single emails' outcomes and states.
    "failed": lambda t: t.pgettext("status", "Failed"),
    "stalled": lambda t: t.pgettext("status", "Making no progress"),
    "warnings": lambda t: t.pgettext("status", "Completed with warnings"),
    "stopped": lambda t: t.pgettext("status", "Stopped"),
    "unknown": lambda t: t.pgettext("status", "Outcome unknown"),
    "stopping": lambda t: t.pgettext("status", "Stopping"),
    "succeeded": lambda t: t.pgettext("status", "Completed successfully"),
    "running": lambda t: t.pgettext("status", "Running"),
    "queued": lambda t: t.pgettext("status", "Queued"),
}
"""The name of each group (and of each outcome), as its own msgids with the context
"status": the single emails may word their outcomes differently."""

COUNTS: dict[str, _Plural] = {
    # TRANSLATORS: the counts in a digest's subject, as in "12 IPS jobs finished: 2 failed,
    # 10 succeeded"; %(num)s is a number of jobs.
    "failed": lambda t, n: t.ngettext("%(num)s failed", "%(num)s failed", n),
    "stalled": lambda t, n: t.ngettext(
        "%(num)s making no progress", "%(num)s making no progress", n
    ),
    "warnings": lambda t, n: t.ngettext("%(num)s with warnings", "%(num)s with warnings", n),
    "stopped": lambda t, n: t.ngettext("%(num)s stopped", "%(num)s stopped", n),
    "unknown": lambda t, n: t.ngettext(
        "%(num)s with unknown outcome", "%(num)s with unknown outcome", n
    ),
    "stopping": lambda t, n: t.ngettext("%(num)s stopping", "%(num)s stopping", n),
    "succeeded": lambda t, n: t.ngettext("%(num)s succeeded", "%(num)s succeeded", n),
    "running": lambda t, n: t.ngettext("%(num)s running", "%(num)s running", n),
    "queued": lambda t, n: t.ngettext("%(num)s queued", "%(num)s queued", n),
}

HEADLINES: dict[bool, _Plural] = {
    # TRANSLATORS: a digest's subject when every job in it has finished; %(counts)s is the
    # list of counts, such as "2 failed, 10 succeeded".
    True: lambda t, n: t.ngettext(
        "%(num)s IPS job finished: %(counts)s", "%(num)s IPS jobs finished: %(counts)s", n
    ),
    # TRANSLATORS: a digest's subject when some jobs in it have not finished yet.
    False: lambda t, n: t.ngettext(
        "Updates on %(num)s IPS job: %(counts)s", "Updates on %(num)s IPS jobs: %(counts)s", n
    ),
}
# TRANSLATORS: separates the counts in a digest's subject ("2 failed, 10 succeeded").
COUNT_SEPARATOR = N_(", ")

ADVICE: dict[str, tuple[str, ...]] = {
    "failed": (
        (
            "Open the job on the Jobs page of Dynamic Media Classic (History tab) to see which "
            "files had errors and why."
        ),
        (
            "Correct or replace the files in error: damaged files, unsupported formats and "
            "wrong paths are the usual causes."
        ),
        (
            "Then run the job again. If it fails again, contact your Dynamic Media Classic "
            "administrator and mention the job name."
        ),
    ),
    "stalled": (
        ("Large files can take a long time to process, so the job may still continue on its own."),
        "Check the job on the Jobs page of Dynamic Media Classic.",
        (
            "If it stays stuck, cancel it on that page and run it again. If that does not "
            "help, contact your Dynamic Media Classic administrator."
        ),
    ),
    "warnings": (
        (
            "Review the warnings in the job's log on the Jobs page of Dynamic Media Classic "
            "(History tab)."
        ),
        "Files with warnings were processed; check that they look as expected.",
    ),
    "stopped": (
        (
            "Check the job on the Jobs page of Dynamic Media Classic (History tab) to see "
            "which files were processed before it stopped."
        ),
        "If the job was stopped by mistake, run it again.",
    ),
    "unknown": (
        "Check the job on the Jobs page of Dynamic Media Classic (History tab) to see how it "
        "ended.",
    ),
}
"""What to do, per group or outcome that needs it: the advice of the single emails, the
same msgids as their templates (so not marked again here; a test keeps them in step)."""

# TRANSLATORS: marks a job in a digest whose email (or chat message) the recipient already
# had on its own; the digest lists it too, so that it shows the whole burst.
ALREADY_SENT = N_("already sent")

# Labels the single emails' templates and render.py already translate (same msgids).
WHAT_TO_DO = "What to do next"
TIME_ZONE = "Time zone"

_KIND_ORDER = {kind: rank for rank, kind in enumerate(EventKind)}
_GROUP_OF_KIND = {
    EventKind.QUEUED: "queued",
    EventKind.STARTED: "running",
    EventKind.PROGRESS: "running",
    EventKind.STALLED: "stalled",
    EventKind.STOPPING: "stopping",
}


class Held(Protocol):
    """One held event and, for `finished`, its completion (the delivery loop's items)."""

    @property
    def event(self) -> Event: ...

    @property
    def completion(self) -> Completion | None: ...

    @property
    def already_sent(self) -> bool:
        """Listed for the whole picture: the recipient had it on its own already."""
        ...


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One job run in a digest. `group`: one of `SEVERITY`; `at`: when it ended, else when
    the event happened; the `*_text` fields are localized."""

    event: Event
    completion: Completion | None
    group: str
    name: str
    status_text: str
    job_type_text: str
    at: datetime
    time_text: str
    already_sent: bool = False


@dataclass(frozen=True, slots=True)
class DigestSummary:
    """A digest in one language: `counts` per group (in `SEVERITY` order, non-zero only).
    `locale`: the route's locale, whose region the dates and numbers follow (None: the
    catalog's own formats, since the jobs' regions differ)."""

    catalog: str
    subject: str
    entries: tuple[DigestEntry, ...]
    counts: tuple[tuple[str, int], ...]
    all_finished: bool
    locale: str | None = None

    def formatter(self, timezone: str) -> Formatter:
        return Formatter.for_job(self.locale, self.catalog, timezone)

    def group_name(self, group: str) -> str:
        return status_name(self.catalog, group)

    def advice(self, group: str) -> tuple[str, ...]:
        return advice(self.catalog, group)


def summarize(
    items: Sequence[Held],
    *,
    locale: str | None = None,
    default_locale: str = "en",
    timezone: str = "UTC",
) -> DigestSummary:
    """The digest of `items` (oldest first) in `locale` (a route's), else the jobs' language."""
    latest = latest_per_run(items)
    if not latest:
        raise ValueError("a digest needs at least one held event")
    catalog = digest_catalog(latest, locale, default_locale)
    fmt = Formatter.for_job(locale, catalog, timezone)  # as DigestSummary.formatter
    entries = sorted(
        (_entry(item, catalog, fmt) for item in latest),
        key=lambda entry: (SEVERITY.index(entry.group), entry.at, entry.name),
    )
    tally = Counter(entry.group for entry in entries)
    counts = tuple((group, tally[group]) for group in SEVERITY if tally[group])
    all_finished = all(entry.event.kind is EventKind.FINISHED for entry in entries)
    return DigestSummary(
        catalog=catalog,
        subject=subject(catalog, counts, all_finished=all_finished),
        entries=tuple(entries),
        counts=counts,
        all_finished=all_finished,
        locale=locale,
    )


def latest_per_run(items: Sequence[Held]) -> list[Held]:
    """One item per job run: its latest event (by time, then by the lifecycle's order)."""
    latest: dict[str, Held] = {}
    for item in items:
        run = item.event.thread_id
        held = latest.get(run)
        if held is None or _later(item.event, held.event):
            latest[run] = item
    return list(latest.values())


def digest_catalog(items: Sequence[Held], locale: str | None, default_locale: str) -> str:
    """The route's language when it names one, else the most frequent of the jobs' (the
    earliest job's among equals)."""
    if locale:
        return negotiate_locale(locale, default_locale)
    catalogs = [negotiate_locale(item.event.job.locale, default_locale) for item in items]
    tally = Counter(catalogs)
    return max(tally, key=lambda catalog: (tally[catalog], -catalogs.index(catalog)))


def subject(catalog: str, counts: Sequence[tuple[str, int]], *, all_finished: bool) -> str:
    """ "12 IPS jobs finished: 2 failed, 10 succeeded", with each language's plural forms."""
    catalog_translations = translations(catalog)
    fmt = Formatter.for_catalog(catalog, "UTC")
    parts = [
        COUNTS[group](catalog_translations, count) % {"num": fmt.number(count)}
        for group, count in counts
    ]
    total = sum(count for _, count in counts)
    separator = catalog_translations.gettext(COUNT_SEPARATOR)
    return HEADLINES[all_finished](catalog_translations, total) % {
        "num": fmt.number(total),
        "counts": separator.join(parts),
    }


def status_name(catalog: str, status: str) -> str:
    """The localized name of a digest group or an outcome: "Failed", "Running"."""
    return STATUS_NAMES[status](translations(catalog))


def advice(catalog: str, group: str) -> tuple[str, ...]:
    """What to do about a job in `group` (a digest group or an outcome), localized."""
    gettext = translations(catalog).gettext
    return tuple(gettext(line) for line in ADVICE.get(group, ()))


def _entry(item: Held, catalog: str, fmt: Formatter) -> DigestEntry:
    gettext = translations(catalog).gettext
    event, completion = item.event, item.completion
    group = _group(event, completion)
    if event.kind is EventKind.PROGRESS:
        status_text = gettext(N_("%(percent)s complete")) % {"percent": fmt.percent(event.detail)}
    else:
        status_text = status_name(catalog, group)
    at = completion.ended_at if completion is not None and completion.ended_at else event.at
    job = event.job
    name = truncate(body_text(job.name or job.original_name or job.job_handle), BODY_NAME_LIMIT)
    job_type = JOB_TYPE_NAMES.get(job.type)
    return DigestEntry(
        event=event,
        completion=completion,
        group=group,
        name=name or header_text(job.job_handle),
        status_text=status_text,
        job_type_text=gettext(job_type) if job_type else body_text(job.type_raw),
        at=at,
        time_text=fmt.datetime(at),
        already_sent=item.already_sent,
    )


def _group(event: Event, completion: Completion | None) -> str:
    if event.kind is EventKind.FINISHED:
        return Outcome(status_of(event, completion)).value
    return _GROUP_OF_KIND[event.kind]


def _later(event: Event, than: Event) -> bool:
    return (event.at, _KIND_ORDER[event.kind], event.detail) > (
        than.at,
        _KIND_ORDER[than.kind],
        than.detail,
    )
