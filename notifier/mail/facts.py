"""The facts table of an email (the rows under the advice), and the names the code gives job
types and job states in every catalog.

Owns which facts an event shows and their labels. Never renders templates (render.py) and
never formats a value itself: the Formatter does, in the email's locale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from gettext import GNUTranslations

from notifier.core.events import Completion, Event, EventKind
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import N_
from notifier.mail.safe_text import body_text, truncate

DESCRIPTION_LIMIT = 2_000

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


def table_of_facts(
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
        facts.append(Fact(gettext("State"), state_name(job, messages)))
    facts.append(Fact(gettext("Job type"), type_name(job, messages)))
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


def state_name(job: ActiveJob, messages: GNUTranslations) -> str:
    if job.state is JobState.UNKNOWN:
        return messages.pgettext("job state", "Unknown")
    if job.state in STATE_NAMES:
        return messages.gettext(STATE_NAMES[job.state])
    # TRANSLATORS: the state of a job that IPS did not name.
    return body_text(job.state_raw) or messages.pgettext("job state", "Unknown")


def type_name(job: ActiveJob, messages: GNUTranslations) -> str:
    if job.type in JOB_TYPE_NAMES:
        return messages.gettext(JOB_TYPE_NAMES[job.type])
    # TRANSLATORS: the type of a job that IPS did not name.
    return body_text(job.type_raw) or messages.pgettext("job type", "Unknown")
