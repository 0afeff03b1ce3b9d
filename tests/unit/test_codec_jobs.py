"""Stored ActiveJobs: the 2014-04-03 fields round-trip, and rows written before them still
decode (to no task progress and no job detail)."""

import json
from dataclasses import replace

from notifier.core.codec import decode_tracked_job, encode_tracked_job
from notifier.core.jobs import EmailSetting, JobDetail, JobDetailKind, JobType
from notifier.core.state import TrackedJob
from tests import soap_bodies as sb


def tracked(**job_fields: object) -> TrackedJob:
    return TrackedJob(
        job=sb.active_job(**job_fields), run=1, first_seen=sb.START, progress_since=sb.START
    )


def test_task_progress_and_job_detail_round_trip() -> None:
    value = tracked(
        type=JobType.EXPORT,
        type_raw="",
        detail=JobDetail(JobDetailKind.EXPORT, EmailSetting.JOB_COMPLETION),
    )
    assert value.job.task_progress[0].items  # the nested item progress is stored too
    assert decode_tracked_job(encode_tracked_job(value)) == value


def test_a_row_written_before_the_2014_fields_still_decodes() -> None:
    current = tracked()
    stored = json.loads(encode_tracked_job(current))
    del stored["job"]["task_progress"], stored["job"]["detail"]
    decoded = decode_tracked_job(json.dumps(stored))
    assert decoded == replace(current, job=replace(current.job, task_progress=(), detail=None))


def test_a_detail_without_email_setting_round_trips() -> None:
    value = tracked(detail=JobDetail(JobDetailKind.CREATE_VIDEO_SITEMAP), task_progress=())
    assert decode_tracked_job(encode_tracked_job(value)) == value
