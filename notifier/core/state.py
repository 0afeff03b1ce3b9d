"""Tracked state: what the notifier remembers of each job between polls.

Owned by core/diff.py (which computes it) and store/ (which persists it). Pure values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from notifier.ips.models import ActiveJob

JobKey = tuple[str, str]
"""(companyHandle, jobHandle)"""


@dataclass(frozen=True, slots=True)
class TrackedJob:
    job: ActiveJob
    run: int
    first_seen: datetime
    missing_polls: int = 0


@dataclass(frozen=True, slots=True)
class TrackedState:
    jobs: Mapping[JobKey, TrackedJob] = field(default_factory=dict)
    last_run: Mapping[JobKey, int] = field(default_factory=dict)
    polled_companies: frozenset[str] = frozenset()
