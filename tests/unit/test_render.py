"""What the rendered email says: the right words, numbers and dates for each event."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import notifier
from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import JobState, JobType
from notifier.mail.facts import JOB_TYPE_NAMES
from notifier.mail.i18n import CATALOGS, translations
from notifier.mail.preview import sample_completion, sample_event
from notifier.mail.render import RenderedEmail, render_bodies


def _render(
    event: Event, completion: Completion | None = None, timezone: str = "UTC"
) -> RenderedEmail:
    return render_bodies(event, completion, timezone=timezone)


def _prose(text: str) -> str:
    """The plain text with its wrapped lines joined again (Latin text only)."""
    return re.sub(r"(?<=\S)\n(?=\S)", " ", text)


def _with_job(event: Event, **changes: object) -> Event:
    return dataclasses.replace(event, job=dataclasses.replace(event.job, **changes))


@pytest.mark.parametrize(
    ("kind", "outcome", "headline", "subject"),
    [
        (EventKind.QUEUED, None, "Your job is queued", "IPS job queued: "),
        (EventKind.STARTED, None, "Your job has started", "IPS job started: "),
        (EventKind.PROGRESS, None, "Your job is 50% complete", "IPS job 50% complete: "),
        (EventKind.STALLED, None, "Your job is making no progress", "IPS job making no progress"),
        (EventKind.STOPPING, None, "Your job is being stopped", "IPS job stopping: "),
        (
            EventKind.FINISHED,
            Outcome.SUCCEEDED,
            "Your job completed successfully",
            "IPS job completed successfully: ",
        ),
        (EventKind.FINISHED, Outcome.WARNINGS, "Your job completed with warnings", "warnings: "),
        (EventKind.FINISHED, Outcome.FAILED, "Your job failed", "IPS job failed: "),
        (EventKind.FINISHED, Outcome.STOPPED, "Your job was stopped", "IPS job stopped: "),
        (
            EventKind.FINISHED,
            Outcome.UNKNOWN,
            "Your job has finished, outcome unknown",
            "IPS job finished, outcome unknown: ",
        ),
    ],
)
def test_each_event_says_what_happened_in_text_and_html(
    kind: EventKind, outcome: Outcome | None, headline: str, subject: str
) -> None:
    event = sample_event(kind, "en")
    rendered = _render(event, sample_completion(outcome) if outcome else None)
    assert rendered.text.startswith(headline + "\n")
    assert headline in rendered.html
    assert subject in rendered.subject
    assert rendered.subject.endswith(event.job.name)
    assert "Started:" in rendered.text
    assert "Mar 14, 2026, 8:02:41\u00a0AM" in rendered.text


def test_a_failure_says_how_many_files_failed_and_what_to_do() -> None:
    rendered = _render(sample_event(EventKind.FINISHED, "en"), sample_completion(Outcome.FAILED))
    text = _prose(rendered.text)
    assert "35 files could not be processed." in text
    assert "Files with errors:   35" in text
    assert "on the Jobs page of Dynamic Media Classic (History tab)" in text
    assert "run the job again" in text
    assert "Duration:            1 hour and 45 minutes" in text
    assert "Size:                3.5 GB" in text
    assert "color:#b42318" in rendered.html


def test_one_file_is_singular_and_a_fatal_error_is_named() -> None:
    completion = sample_completion(Outcome.FAILED)
    assert completion.log is not None
    log = dataclasses.replace(completion.log, file_error_count=1, fatal_error=True)
    rendered = _render(
        sample_event(EventKind.FINISHED, "en"), dataclasses.replace(completion, log=log)
    )
    assert "1 file could not be processed." in _prose(rendered.text)
    assert "IPS stopped it because of a fatal error." in _prose(rendered.text)


def test_counts_are_formatted_for_the_locale() -> None:
    rendered = _render(
        sample_event(EventKind.FINISHED, "de-DE"), sample_completion(Outcome.SUCCEEDED)
    )
    assert "1.248 Dateien wurden verarbeitet." in _prose(rendered.text)
    assert "3,5\u00a0GB" in rendered.text
    assert "1 Stunde und 45 Minuten" in rendered.text


def test_a_stall_says_for_how_long_and_since_when() -> None:
    rendered = _render(sample_event(EventKind.STALLED, "en"))
    text = _prose(rendered.text)
    assert "has reported no progress for 30 minutes." in text
    assert "Last progress update: Mar 14, 2026, 9:17:05\u00a0AM" in text
    assert "Progress:             62%" in text
    assert "on the Jobs page of Dynamic Media Classic." in text


def test_dates_are_shown_in_the_configured_time_zone() -> None:
    rendered = _render(sample_event(EventKind.STARTED, "ja"), timezone="Asia/Tokyo")
    assert "2026/03/14 17:02:41" in rendered.text
    assert re.search(r"^タイムゾーン： +日本時間$", rendered.text, re.MULTILINE)


def test_utc_is_named_utc() -> None:
    rendered = _render(sample_event(EventKind.STARTED, "en"))
    assert re.search(r"^Time zone: +UTC$", rendered.text, re.MULTILINE)


def test_a_job_without_start_date_or_log_still_renders() -> None:
    event = _with_job(
        sample_event(EventKind.FINISHED, "en"),
        start_date=None,
        total_size=None,
        description=None,
        progress=None,
    )
    rendered = _render(event, None)
    assert re.search(r"^Started: +Unknown$", rendered.text, re.MULTILINE)
    assert "outcome is unknown" in _prose(rendered.text)
    assert "Size" not in rendered.text


def test_a_finished_job_that_was_stopping_counts_as_stopped_without_a_log() -> None:
    event = dataclasses.replace(sample_event(EventKind.FINISHED, "en"), went_through_stopping=True)
    assert _render(event, None).subject.startswith("IPS job stopped: ")


def test_types_and_states_outside_the_reference_show_as_ips_sent_them() -> None:
    event = _with_job(
        sample_event(EventKind.STARTED, "fr"),
        type=JobType.UNRECOGNIZED,
        type_raw="HologramPublish",
        state=JobState.UNRECOGNIZED,
        state_raw="Teleporting",
    )
    rendered = _render(event)
    assert "HologramPublish" in rendered.text
    assert "Teleporting" in rendered.text


def test_type_and_state_names_are_translated() -> None:
    event = _with_job(sample_event(EventKind.STARTED, "ja"), state=JobState.STOPPING)
    rendered = _render(event)
    assert "Image Serving 公開" in rendered.text
    assert "停止中" in rendered.text


def test_no_row_repeats_the_headline_or_the_summary() -> None:
    rendered = _render(sample_event(EventKind.FINISHED, "en"), sample_completion(Outcome.FAILED))
    labels = [line.split(":")[0] for line in rendered.text.splitlines() if ":  " in line]
    assert "Job" not in labels and "Outcome" not in labels and "State" not in labels
    running = _render(sample_event(EventKind.STARTED, "en")).text
    assert not re.search(r"^State:", running, re.MULTILINE)


def test_a_multi_line_description_keeps_its_lines_and_is_escaped() -> None:
    event = _with_job(
        sample_event(EventKind.QUEUED, "en"), description="Line one\r\n<b>Line</b> two\x00"
    )
    rendered = _render(event)
    assert "Line one\n" in rendered.text
    assert "<b>Line</b> two" in rendered.text
    assert "Line one\n&lt;b&gt;Line&lt;/b&gt; two" in rendered.html
    assert "white-space:pre-line" in rendered.html


def test_the_html_is_self_contained_and_phone_sized() -> None:
    html = _render(sample_event(EventKind.FINISHED, "en"), sample_completion(Outcome.FAILED)).html
    assert "max-width:600px" in html
    assert "<img" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert 'name="viewport"' in html


def test_a_naive_start_date_is_taken_as_utc() -> None:
    event = _with_job(
        sample_event(EventKind.STARTED, "en"), start_date=datetime(2026, 3, 14, 8, 2, 41)
    )
    aware = _with_job(event, start_date=datetime(2026, 3, 14, 8, 2, 41, tzinfo=UTC))
    assert _render(event).text == _render(aware).text


def test_a_progress_event_names_its_step() -> None:
    event = dataclasses.replace(sample_event(EventKind.PROGRESS, "fr"), detail=75)
    rendered = _render(event)
    assert "75\u00a0%" in rendered.subject
    assert 'width="75%"' in rendered.html


def test_the_duration_comes_from_the_start_when_the_log_has_none() -> None:
    completion = dataclasses.replace(sample_completion(Outcome.SUCCEEDED), duration=None)
    event = sample_event(EventKind.FINISHED, "en")
    assert completion.ended_at is not None and event.job.start_date is not None
    assert completion.ended_at - event.job.start_date == timedelta(minutes=105, seconds=38)
    assert "1 hour and 45 minutes" in _render(event, completion).text


def test_each_template_is_compiled_once_however_many_languages_are_mailed() -> None:
    # In a fresh process: the compiled templates are shared state of the module.
    script = """
import jinja2
from notifier.core.events import EventKind, Outcome
from notifier.mail.i18n import CATALOGS, bcp47
from notifier.mail.preview import sample_completion, sample_event
from notifier.mail.render import render_bodies
from notifier.mail.templating import warm_up

compiled = []
real_compile = jinja2.Environment.compile

def counting_compile(self, source, name=None, *args, **kwargs):
    compiled.append(name)
    return real_compile(self, source, name, *args, **kwargs)

jinja2.Environment.compile = counting_compile
warm_up("de-DE")
at_start = sorted(compiled)
for catalog in CATALOGS:
    for kind in EventKind:
        done = sample_completion(Outcome.FAILED) if kind is EventKind.FINISHED else None
        render_bodies(sample_event(kind, bcp47(catalog)), done)
print(len(at_start), len(set(at_start)), len(compiled))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    at_start, distinct, in_all = (int(n) for n in done.stdout.split())
    templates = len(list((Path(notifier.__file__).parent / "templates").iterdir()))
    assert at_start == 2 * templates  # text and HTML: compiled at start, once each
    assert distinct == templates
    assert in_all == at_start  # 12 languages x 6 kinds later: nothing compiled again


def test_what_to_do_next_comes_right_after_the_summary() -> None:
    rendered = _render(sample_event(EventKind.FINISHED, "en"), sample_completion(Outcome.FAILED))
    html, text = rendered.html, rendered.text
    assert html.index("35 files could not be processed.") < html.index("What to do next")
    assert html.index("What to do next") < html.index("Job type")
    assert text.index("What to do next") < text.index("Job type:")


@pytest.mark.parametrize(
    ("tag", "first_font", "not_before"),
    [
        ("ja-JP", "'Hiragino Sans'", "'Malgun Gothic'"),
        ("ko-KR", "'Apple SD Gothic Neo'", "'Microsoft YaHei'"),
        ("zh-CN", "'PingFang SC'", "'Microsoft JhengHei'"),
        ("zh-TW", "'PingFang TC'", "'Microsoft YaHei'"),
    ],
)
def test_each_cjk_language_names_its_own_fonts_first(
    tag: str, first_font: str, not_before: str
) -> None:
    html = _render(sample_event(EventKind.STARTED, tag)).html
    fonts = re.search(r"font-family:([^;]+);", html)
    assert fonts is not None
    stack = fonts.group(1)
    assert first_font in stack
    assert not_before not in stack


def test_korean_breaks_between_words_and_only_korean() -> None:
    assert "word-break:keep-all" in _render(sample_event(EventKind.STALLED, "ko")).html
    assert "word-break:keep-all" not in _render(sample_event(EventKind.STALLED, "ja")).html


def test_the_html_survives_dark_mode_instead_of_opting_out_and_stacks_on_phones() -> None:
    html = _render(sample_event(EventKind.FINISHED, "en"), sample_completion(Outcome.FAILED)).html
    assert "light only" not in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert ".label, .value { display: block !important;" in html
    assert "mso-hide:all" in html


def test_every_job_type_has_a_name_in_every_language() -> None:
    assert set(JOB_TYPE_NAMES) == set(JobType) - {JobType.UNRECOGNIZED}
    for catalog in CATALOGS:
        if catalog == "en":
            continue
        names = [translations(catalog).gettext(name) for name in JOB_TYPE_NAMES.values()]
        assert names != list(JOB_TYPE_NAMES.values()), catalog
        assert len(set(names)) == len(set(JOB_TYPE_NAMES.values())), catalog


@pytest.mark.parametrize(
    ("locale", "name"),
    [("de-DE", "Export"), ("fr-FR", "Exportation"), ("ja-JP", "エクスポート")],
)
def test_a_kind_named_only_by_its_detail_element_is_named_in_the_email(
    locale: str, name: str
) -> None:
    event = _with_job(
        sample_event(EventKind.STARTED, locale), type=JobType.EXPORT, type_raw="Unrecognized"
    )
    assert name in _render(event).text
