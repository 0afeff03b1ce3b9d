"""The store's JSON form of events, completions and tracked jobs loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.core.codec import (
    CodecError,
    decode_completion,
    decode_event,
    decode_tracked_job,
    encode_completion,
    encode_event,
    encode_tracked_job,
)
from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType
from notifier.core.state import TrackedJob

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets
).map(lambda d: d.replace(fold=0))  # fold means nothing with a fixed offset
maybe_date = st.none() | aware
maybe_int = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
maybe_text = st.none() | st.text()

active_jobs = st.builds(
    ActiveJob,
    company_handle=st.text(),
    job_handle=st.text(),
    name=st.text(),
    original_name=maybe_text,
    type=st.sampled_from(JobType),
    state=st.sampled_from(JobState),
    submit_user_email=maybe_text,
    locale=maybe_text,
    description=maybe_text,
    server_name=maybe_text,
    start_date=maybe_date,
    trigger_time=maybe_date,
    total_size=maybe_int,
    progress=maybe_int,
    progress_message=maybe_text,
    last_progress_update=maybe_date,
    type_raw=st.text(),
    state_raw=st.text(),
)
job_logs = st.builds(
    JobLog,
    company_handle=st.text(),
    job_handle=st.text(),
    job_name=st.text(),
    original_job_name=maybe_text,
    submit_user_email=maybe_text,
    log_type=maybe_text,
    job_sub_type=maybe_text,
    start_date=maybe_date,
    end_date=maybe_date,
    description=maybe_text,
    file_success_count=maybe_int,
    file_error_count=maybe_int,
    file_warning_count=maybe_int,
    file_duplicate_count=maybe_int,
    file_update_count=maybe_int,
    total_file_count=maybe_int,
    transfer_success_count=maybe_int,
    transfer_error_count=maybe_int,
    transfer_warning_count=maybe_int,
    fatal_error=st.none() | st.booleans(),
)
events = st.builds(
    Event,
    id=st.text(),
    kind=st.sampled_from(EventKind),
    job=active_jobs,
    run=st.integers(min_value=1),
    at=aware,
    detail=st.integers(),
    went_through_stopping=st.booleans(),
)
completions = st.builds(
    Completion,
    outcome=st.sampled_from(Outcome),
    log=st.none() | job_logs,
    ended_at=maybe_date,
    duration=st.none() | st.timedeltas(),
)
tracked_jobs = st.builds(
    TrackedJob,
    job=active_jobs,
    run=st.integers(min_value=1),
    first_seen=aware,
    progress_since=aware,
    missing_polls=st.integers(min_value=0),
    progress_step=st.integers(0, 100),
    stall_episodes=st.integers(min_value=0),
    stalled=st.booleans(),
    started=st.booleans(),
    went_through_stopping=st.booleans(),
    finished=st.booleans(),
)


def same_offsets(a: object, b: object) -> bool:
    """Equality of aware datetimes ignores the offset; the stored form must keep it too."""
    return repr(a) == repr(b)


@settings(max_examples=100)
@given(events)
def test_events_round_trip(event: Event) -> None:
    back = decode_event(encode_event(event))
    assert back == event
    assert same_offsets(back, event)


@settings(max_examples=100)
@given(completions)
def test_completions_round_trip(completion: Completion) -> None:
    back = decode_completion(encode_completion(completion))
    assert back == completion
    assert same_offsets(back, completion)


@settings(max_examples=100)
@given(tracked_jobs)
def test_tracked_jobs_round_trip(tracked: TrackedJob) -> None:
    back = decode_tracked_job(encode_tracked_job(tracked))
    assert back == tracked
    assert same_offsets(back, tracked)


def test_an_offset_like_ips_sends_survives() -> None:
    at = datetime(2007, 9, 14, 22, 4, 58, 536000, tzinfo=timezone(timedelta(hours=-7)))
    completion = Completion(outcome=Outcome.STOPPED, ended_at=at, duration=timedelta(seconds=1.5))
    text = encode_completion(completion)
    assert "2007-09-14T22:04:58.536000-07:00" in text
    assert decode_completion(text).ended_at.utcoffset() == timedelta(hours=-7)  # type: ignore[union-attr]


def test_a_row_from_an_older_writer_gets_the_defaults() -> None:
    text = encode_event(
        Event(
            id="e", kind=EventKind.FINISHED, job=_job(), run=1, at=datetime(2026, 1, 1, tzinfo=UTC)
        )
    )
    older = text.replace(',"went_through_stopping":false', "")
    assert decode_event(older).went_through_stopping is False


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"outcome": "exploded"}', '{"outcome": "failed", "ended_at": "yesterday"}', "{"],
)
def test_damaged_rows_raise_a_codec_error(text: str) -> None:
    with pytest.raises(CodecError):
        decode_completion(text)


def _job() -> ActiveJob:
    return ActiveJob(
        "47",
        "47|A|",
        "A",
        None,
        JobType.CLEANUP,
        JobState.DONE,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )
