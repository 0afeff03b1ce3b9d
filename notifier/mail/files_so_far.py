"""What the emails of a running job say of its files: processed, still to process, time left.

Owns turning IPS's task progress (summed by core/progress.py) into the values the progress
and stalled templates show, formatted for the job's locale: the two counts, and the time
left at the job's rate so far ("" where that rate is unknown or nothing is left). Never
picks words (the templates and catalogs do) and never reads a clock.
"""

from __future__ import annotations

from notifier.core.events import Event, EventKind
from notifier.core.progress import observe, time_left_so_far
from notifier.mail.formatting import Formatter

# The events about a job still at work, whose emails tell how far its files are.
_AT_WORK = frozenset({EventKind.PROGRESS, EventKind.STALLED})

NOTHING_KNOWN: dict[str, object] = {
    "processed_count": None,
    "processed_text": "",
    "pending_count": None,
    "pending_text": "",
    "time_left": "",
}


def files_so_far(event: Event, fmt: Formatter) -> dict[str, object]:
    """`processed_count`/`_text` and `pending_count`/`_text` (files in work or waiting;
    None where IPS reported no counts or a count below zero) and `time_left`."""
    now = observe(event.job, event.at) if event.kind in _AT_WORK else None
    if now is None or now.processed < 0 or now.pending < 0:
        return dict(NOTHING_KNOWN)
    left = time_left_so_far(event.job, event.at)
    return {
        "processed_count": now.processed,
        "processed_text": fmt.number(now.processed),
        "pending_count": now.pending,
        "pending_text": fmt.number(now.pending),
        "time_left": fmt.approximate(left) if left else "",
    }
