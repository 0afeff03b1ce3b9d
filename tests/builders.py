"""Values the component tests build the same way: IPS job logs and the promised metric names."""

from __future__ import annotations

from datetime import datetime

from notifier.core.jobs import JobLog

METRIC_NAMES = (
    "notifier_polls_total",
    "notifier_poll_duration_seconds",
    "notifier_active_jobs",
    "notifier_events_total",
    "notifier_emails_total",
    "notifier_deliveries_total",
    "notifier_outbox_pending",
    "notifier_outbox_dead",
    "notifier_last_successful_poll_timestamp_seconds",
    "notifier_build_info",
    "notifier_event_loop_lag_seconds",
    "notifier_smtp_up",
    "notifier_last_successful_send_timestamp_seconds",
    "notifier_outbox_oldest_pending_age_seconds",
)
"""The metrics docs/DESIGN.md promises operators (dashboards and alerts are built on the names)."""

COMING_METRICS = ("notifier_leader",)
"""Metrics docs/DESIGN.md lists as coming (replicas' leadership): the
monitoring kit in deploy/ may already query them; nothing else may be queried there."""


def job_log(
    company: str,
    name: str,
    *,
    started: datetime,
    ended: datetime,
    errors: int = 0,
    warnings: int = 0,
) -> JobLog:
    """The log IPS writes for a publish job of ten files, by `ana@example.com`."""
    return JobLog(
        company_handle=company,
        job_handle=f"{company}|{name}|",
        job_name=name,
        original_job_name=name,
        submit_user_email="ana@example.com",
        log_type="ImageServingPublishSuccess",
        job_sub_type=None,
        start_date=started,
        end_date=ended,
        description=None,
        file_success_count=10 - errors,
        file_error_count=errors,
        file_warning_count=warnings,
        file_duplicate_count=0,
        file_update_count=0,
        total_file_count=10,
        transfer_success_count=None,
        transfer_error_count=None,
        transfer_warning_count=None,
        fatal_error=False,
    )
