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
    new_task_item,
    new_task_progress,
)

__all__ = ["DETAIL_KINDS", "read_detail", "read_task_progress"]

LocalNames = Mapping[object, "str | None"]
DETAIL_KINDS = {kind.value: kind for kind in JobDetailKind}


Texts = dict["str | None", str]


def _texts(element: etree._Element, names: LocalNames) -> Texts:
    """Children's texts by IPS local name ("" for an empty one); of two the later wins."""
    return {names[child.tag]: child.text or "" for child in element}


def _int(texts: Texts, name: str) -> int | None:
    text = texts.get(name)
    return int(text) if text else None


def _double(texts: Texts, name: str) -> float | None:
    text = texts.get(name)
    if not text:
        return None
    value = text.strip()
    return float(_SPECIAL.get(value, value))


_SPECIAL = {"INF": "inf", "-INF": "-inf"}
_TASK_STATES = {s.value: s for s in TaskState if s is not TaskState.UNRECOGNIZED}


def instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _instant(texts: Texts, name: str) -> datetime | None:
    text = texts.get(name)
    return instant(text) if text else None


def _last(element: etree._Element, names: LocalNames, name: str) -> etree._Element | None:
    for child in element.iterchildren(reversed=True):
        if names[child.tag] == name:
            return child
    return None


def _items(
    array: etree._Element | None, names: LocalNames, read: Callable[[etree._Element], object]
) -> list[object]:
    if array is None or not len(array):
        return []
    return [read(item) for item in array if names[item.tag] == "items"]


def read_task_progress(array: etree._Element | None, names: LocalNames) -> tuple[TaskProgress, ...]:
    """Every TaskProgress of a taskProgressArray (none when it is absent or empty)."""

    def item_progress(element: etree._Element) -> TaskItemProgress:
        t = _texts(element, names)
        return new_task_item(
            t.get("itemName"),
            _double(t, "progress"),
            t.get("progressMessage"),
            _instant(t, "lastProgressUpdate"),
        )

    def task(element: etree._Element) -> TaskProgress:
        t = _texts(element, names)
        state = t.get("taskState")
        items: list[object] = []
        if "taskItemProgressArray" in t:
            items = _items(_last(element, names, "taskItemProgressArray"), names, item_progress)
        return new_task_progress(
            t.get("taskType"),
            None if state is None else _TASK_STATES.get(state, TaskState.UNRECOGNIZED),
            _int(t, "numProcessed"),
            _int(t, "numProcessing"),
            _int(t, "numPending"),
            _double(t, "progress"),
            t.get("progressMessage"),
            _instant(t, "lastProgressUpdate"),
            tuple(items),  # type: ignore[arg-type]
        )

    return tuple(_items(array, names, task))  # type: ignore[arg-type]


def read_detail(element: etree._Element, names: LocalNames) -> JobDetail:
    """A job-detail element (its local name is one of DETAIL_KINDS) and its emailSetting."""
    kind = DETAIL_KINDS[str(names[element.tag])]
    setting = _texts(element, names).get("emailSetting")
    return JobDetail(kind, None if setting is None else EmailSetting.parse(setting))
