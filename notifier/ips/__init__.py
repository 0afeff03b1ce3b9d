"""The IPS side: SOAP client, safe parsing of its responses, and their typed models."""

from notifier.core.jobs import ActiveJob, JobLog, JobState, JobType
from notifier.ips.errors import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    IpsError,
    IpsFault,
    IpsPermanentError,
    IpsResponseError,
    IpsRetryableError,
    IpsTimeoutError,
    IpsTransportError,
)
from notifier.ips.parse import parse_active_jobs, parse_job_logs

__all__ = [
    "ActiveJob",
    "IpsApiFault",
    "IpsAuthenticationFault",
    "IpsAuthorizationFault",
    "IpsError",
    "IpsFault",
    "IpsPermanentError",
    "IpsResponseError",
    "IpsRetryableError",
    "IpsTimeoutError",
    "IpsTransportError",
    "JobLog",
    "JobState",
    "JobType",
    "parse_active_jobs",
    "parse_job_logs",
]
