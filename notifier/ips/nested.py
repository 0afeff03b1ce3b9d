"""The nested parts of one ActiveJob element: taskProgressArray and the job-detail element.

Owns their reading by local name, as the 2014-04-03 schema types them (counts as int,
progress as float, instants as aware datetimes). An ActiveJob holds nested elements named
`items`, `progress`, `progressMessage` and `lastProgressUpdate` that are not the job's own:
parse.py reads only the job's direct children and hands the two nested parts here. Never
does I/O; a value that does not read raises ValueError (the caller rejects the answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from lxml import etree

from notifier.core.jobs import (
    EmailSetting,
    JobDetail,
    JobDetailKind,
    TaskItemProgress,
    TaskProgress,
    TaskState,
)

__all__ = ["DETAIL_KINDS", "read_detail", "read_task_progress"]

LocalNames = Mapping[object, "str | None"]
DETAIL_KINDS = {kind.value: kind for kind in JobDetailKind}


def _children(element: etree._Element, names: LocalNames) -> dict[str, etree._Element]:
    """Children by IPS local name; of two with one name the later wins."""
    out: dict[str, etree._Element] = {}
    for child in element:
        name = names[child.tag]
        if name is not None:
            out[name] = child
    return out


def _text(children: dict[str, etree._Element], name: str) -> str | None:
    child = children.get(name)
    return None if child is None else (child.text or "")


def _int(children: dict[str, etree._Element], name: str) -> int | None:
    text = _text(children, name)
    return int(text) if text else None


def _double(children: dict[str, etree._Element], name: str) -> float | None:
    text = _text(children, name)
    if not text:
        return None
    value = text.strip()
    return float({"INF": "inf", "-INF": "-inf"}.get(value, value))


def instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _instant(children: dict[str, etree._Element], name: str) -> datetime | None:
    text = _text(children, name)
    return instant(text) if text else None


def _items(
    array: etree._Element | None, names: LocalNames, read: Callable[[etree._Element], object]
) -> list[object]:
    if array is None:
        return []
    return [read(item) for item in array if names[item.tag] == "items"]


def read_task_progress(array: etree._Element | None, names: LocalNames) -> tuple[TaskProgress, ...]:
    """Every TaskProgress of a taskProgressArray (none when it is absent or empty)."""

    def item_progress(element: etree._Element) -> TaskItemProgress:
        c = _children(element, names)
        return TaskItemProgress(
            item_name=_text(c, "itemName"),
            progress=_double(c, "progress"),
            progress_message=_text(c, "progressMessage"),
            last_progress_update=_instant(c, "lastProgressUpdate"),
        )

    def task(element: etree._Element) -> TaskProgress:
        c = _children(element, names)
        state = _text(c, "taskState")
        items = _items(c.get("taskItemProgressArray"), names, item_progress)
        return TaskProgress(
            task_type=_text(c, "taskType"),
            task_state=None if state is None else TaskState.parse(state),
            num_processed=_int(c, "numProcessed"),
            num_processing=_int(c, "numProcessing"),
            num_pending=_int(c, "numPending"),
            progress=_double(c, "progress"),
            progress_message=_text(c, "progressMessage"),
            last_progress_update=_instant(c, "lastProgressUpdate"),
            items=tuple(items),  # type: ignore[arg-type]
        )

    return tuple(_items(array, names, task))  # type: ignore[arg-type]


def read_detail(element: etree._Element, names: LocalNames) -> JobDetail:
    """A job-detail element (its local name is one of DETAIL_KINDS) and its emailSetting."""
    kind = DETAIL_KINDS[str(names[element.tag])]
    setting = _text(_children(element, names), "emailSetting")
    return JobDetail(kind, None if setting is None else EmailSetting.parse(setting))
