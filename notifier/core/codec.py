"""JSON text for the values the store keeps: Event, Completion, TrackedJob (and ActiveJob,
JobLog inside them).

Lossless: decode(encode(x)) == x, datetimes keep their offsets, enums their values, None
stays None, timedeltas keep their microseconds. Pure: no I/O. Decoding ignores keys it does
not know (a newer writer) and gives missing keys their defaults (an older writer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.core.jobs import (
    ActiveJob,
    EmailSetting,
    JobDetail,
    JobDetailKind,
    JobLog,
    JobState,
    JobType,
    TaskItemProgress,
    TaskProgress,
    TaskState,
)
from notifier.core.state import TrackedJob

T = TypeVar("T")
Decoder = Callable[[Any], Any]


class CodecError(ValueError):
    """Stored text that is not a value this codec wrote."""


def _date(text: Any) -> datetime:
    return datetime.fromisoformat(text)


def _duration(microseconds: Any) -> timedelta:
    return timedelta(microseconds=microseconds)


def _active_job(data: Any) -> ActiveJob:
    return _decode(ActiveJob, data, _ACTIVE_JOB)


def _job_log(data: Any) -> JobLog:
    return _decode(JobLog, data, _JOB_LOG)


def _detail(data: Any) -> JobDetail:
    return _decode(JobDetail, data, _DETAIL)


def _task_item(data: Any) -> TaskItemProgress:
    return _decode(TaskItemProgress, data, _DATES)


def _task(data: Any) -> TaskProgress:
    return _decode(TaskProgress, data, _TASK)


def _tuple_of(decode: Decoder) -> Decoder:
    def decode_all(data: Any) -> tuple[Any, ...]:
        if not isinstance(data, list):
            raise CodecError(f"expected a list, got {type(data).__name__}")
        return tuple(decode(item) for item in data)

    return decode_all


_DATES = dict.fromkeys(
    ("start_date", "end_date", "trigger_time", "last_progress_update", "at", "ended_at"), _date
)
_DETAIL: Mapping[str, Decoder] = {"kind": JobDetailKind, "email_setting": EmailSetting}
_TASK: Mapping[str, Decoder] = {
    **_DATES,
    "task_state": TaskState,
    "progress": float,
    "items": _tuple_of(_task_item),
}
_ACTIVE_JOB: Mapping[str, Decoder] = {
    **_DATES,
    "type": JobType,
    "state": JobState,
    "task_progress": _tuple_of(_task),
    "detail": _detail,
}
_JOB_LOG: Mapping[str, Decoder] = _DATES
_EVENT: Mapping[str, Decoder] = {"at": _date, "kind": EventKind, "job": _active_job}
_COMPLETION: Mapping[str, Decoder] = {
    "outcome": Outcome,
    "log": _job_log,
    "ended_at": _date,
    "duration": _duration,
}
_TRACKED_JOB: Mapping[str, Decoder] = {
    "job": _active_job,
    "first_seen": _date,
    "progress_since": _date,
}


def encode_event(event: Event) -> str:
    return _dumps(event)


def decode_event(text: str | bytes) -> Event:
    return _decode(Event, _loads(text), _EVENT)


def encode_completion(completion: Completion) -> str:
    return _dumps(completion)


def decode_completion(text: str | bytes) -> Completion:
    return _decode(Completion, _loads(text), _COMPLETION)


def encode_tracked_job(tracked: TrackedJob) -> str:
    return _dumps(tracked)


def decode_tracked_job(text: str | bytes) -> TrackedJob:
    return _decode(TrackedJob, _loads(text), _TRACKED_JOB)


def _dumps(value: object) -> str:
    return json.dumps(_plain(value), separators=(",", ":"))


def _loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CodecError(f"not JSON: {exc}") from None


def _plain(value: object) -> Any:
    """A JSON-ready form of a slotted dataclass, recursively."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}  # type: ignore[arg-type]
    return value


def _decode(cls: type[T], data: Any, decoders: Mapping[str, Decoder]) -> T:
    if not isinstance(data, dict):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise CodecError(f"{cls.__name__}: missing {f.name!r}")
            continue
        value = data[f.name]
        decoder = decoders.get(f.name)
        try:
            kwargs[f.name] = value if value is None or decoder is None else decoder(value)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"{cls.__name__}.{f.name}: {exc}") from None
    return cls(**kwargs)
