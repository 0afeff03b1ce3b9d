"""Progress and stalled emails tell how far the job's files are (from IPS's task progress)
and, from the rate since the job started, about how long it has left, in the job's
language; no estimate where the rate is unknown, nil or went backwards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.events import Event, EventKind, event_id
from notifier.core.jobs import TaskProgress
from notifier.core.progress import time_left_so_far
from notifier.mail.render import render_bodies
from tests import soap_bodies as sb

AT = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
STARTED = AT - timedelta(minutes=50)


def event(
    kind: EventKind = EventKind.PROGRESS,
    locale: str = "en-US",
    *tasks: TaskProgress,
    started: datetime | None = STARTED,
) -> Event:
    """The job 50 minutes after it started, with `tasks` (default: 100 files done, one in
    work, 49 waiting: 2 files a minute, 25 minutes left)."""
    job = sb.active_job(
        locale=locale,
        start_date=started,
        progress=66,
        last_progress_update=AT - timedelta(minutes=31),
        task_progress=tasks or (task(100, 1, 49),),
    )
    return Event(event_id("47", job.job_handle, 1, kind, 50), kind, job, 1, AT, detail=50)


def task(processed: int | None, processing: int | None, pending: int | None) -> TaskProgress:
    return sb.task_progress(num_processed=processed, num_processing=processing, num_pending=pending)


def text(evt: Event) -> str:
    """The plain text with its wrapped lines joined again."""
    return re.sub(r"(?<=\S)\n(?=\S)", " ", render_bodies(evt, None).text)


def says(sentence: str, evt: Event) -> bool:
    """Whether the plain text says `sentence`, however it was wrapped (a Japanese line may
    break between any two characters, or at a space)."""
    plain = render_bodies(evt, None).text
    return re.sub(r"\s", "", sentence) in re.sub(r"\s", "", plain)


@pytest.mark.parametrize(
    ("locale", "sentences"),
    [
        (
            "en-US",
            [
                "100 files have been processed so far.",
                "50 files are still to be processed.",
                "About 25 minutes left at the current rate.",
            ],
        ),
        (
            "de-DE",
            [
                "Bisher wurden 100 Dateien verarbeitet.",
                "50 Dateien müssen noch verarbeitet werden.",
                "Bei der derzeitigen Geschwindigkeit dauert es noch etwa 25 Minuten.",
            ],
        ),
        (
            "fr-FR",
            [
                "100 fichiers ont été traités jusqu’ici.",
                "50 fichiers restent à traiter.",
                "Au rythme actuel, il reste environ 25 minutes.",
            ],
        ),
        (
            "ja-JP",
            [
                "これまでに 100 件のファイルを処理しました。",
                "未処理のファイルは残り 50 件です。",
                "現在のペースでは、残りは約 25 分です。",
            ],
        ),
    ],
)
def test_a_progress_email_gives_the_files_and_the_time_left_in_the_jobs_language(
    locale: str, sentences: list[str]
) -> None:
    evt = event(EventKind.PROGRESS, locale)
    for sentence in sentences:
        assert says(sentence, evt)


@pytest.mark.parametrize(
    ("locale", "sentence"),
    [
        ("en-US", "If it picks up again at its rate so far, it needs about 25 minutes more."),
        (
            "de-DE",
            "Geht es mit der bisherigen Geschwindigkeit weiter, dauert es noch etwa 25 Minuten.",
        ),
        ("fr-FR", "il lui faudra encore environ 25 minutes."),
        ("ja-JP", "これまでのペースで再開した場合、完了まで約 25 分かかります。"),
    ],
)
def test_a_stalled_email_gives_the_time_left_at_the_rate_so_far(locale: str, sentence: str) -> None:
    assert says(sentence, event(EventKind.STALLED, locale))


def test_one_file_reads_in_the_singular_and_hours_round_as_an_estimate() -> None:
    # One file in 50 minutes, 2 waiting: 100 minutes left, "about 2 hours".
    said = text(event(EventKind.PROGRESS, "de-DE", task(1, 0, 2)))
    assert "Bisher wurde 1 Datei verarbeitet." in said
    assert "etwa 2\u00a0Stunden." in said, "a line never breaks inside the estimate"
    said = text(event(EventKind.PROGRESS, "fr-FR", task(1, 0, 1)))
    assert "1 fichier a été traité jusqu’ici." in said
    assert "1 fichier reste à traiter." in said
    assert "environ 50\u00a0minutes." in said


def test_the_counts_are_summed_over_the_tasks() -> None:
    said = text(event(EventKind.PROGRESS, "en-US", task(60, 1, 20), task(40, 0, 29)))
    assert "100 files have been processed so far." in said
    assert "50 files are still to be processed." in said
    assert "About 25\u00a0minutes left" in said


def test_no_estimate_when_nothing_was_processed() -> None:
    said = text(event(EventKind.PROGRESS, "en-US", task(0, 1, 149)))
    assert "0 files have been processed so far." in said
    assert "150 files are still to be processed." in said
    assert "left at the current rate" not in said


def test_no_estimate_nor_counts_when_progress_went_backwards() -> None:
    # IPS reports fewer files processed than when the job started.
    evt = event(EventKind.PROGRESS, "en-US", task(-3, 1, 149))
    assert time_left_so_far(evt.job, evt.at) is None
    said = text(evt)
    assert "processed so far" not in said
    assert "left at the current rate" not in said


def test_no_estimate_when_the_job_has_no_start_or_started_after_the_poll() -> None:
    for started in (None, AT + timedelta(minutes=1)):
        said = text(event(EventKind.PROGRESS, "en-US", started=started))
        assert "100 files have been processed so far." in said
        assert "left at the current rate" not in said


def test_nothing_is_said_of_files_where_ips_reports_no_task_progress() -> None:
    evt = event(EventKind.PROGRESS, "en-US", task(None, None, None))
    said = text(evt)
    assert "processed so far" not in said
    assert "still to be processed" not in said
    assert "left at the current rate" not in said


def test_nothing_pending_says_no_time_left() -> None:
    said = text(event(EventKind.STALLED, "en-US", task(150, 0, 0)))
    assert "150 files have been processed so far." in said
    assert "still to be processed" not in said
    assert "it needs about" not in said


def test_the_html_part_says_the_same() -> None:
    html = render_bodies(event(EventKind.PROGRESS, "fr-FR"), None).html
    assert "Au rythme actuel, il reste environ 25\u00a0minutes." in html
    assert "100 fichiers ont été traités jusqu’ici." in html


def test_other_events_say_nothing_of_files() -> None:
    for kind in (EventKind.STARTED, EventKind.QUEUED, EventKind.STOPPING):
        said = text(event(kind, "en-US"))
        assert "processed so far" not in said
