"""Text tables for a terminal: columns that fit its width, counted in display cells.

Owns display width (East Asian wide and full-width characters take two cells, combining
marks none: `unicodedata`), cutting a cell to a width (at a word boundary when one is near,
always with an ellipsis, so a cut is never silent), and sharing a terminal's width between
columns. Pure text; never reads the terminal itself (the caller passes its width).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

ELLIPSIS = "…"
GAP = "  "


@dataclass(frozen=True, slots=True)
class Column:
    """`most`: the widest it may be (None: as wide as its widest cell); `least`: how narrow
    it may be cut when the terminal is narrow (None: never cut). The last column takes what
    is left."""

    title: str
    most: int | None = None
    least: int | None = None


def cells(text: str) -> int:
    """How many terminal cells `text` takes."""
    return sum(_cell(ch) for ch in text)


def _cell(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells: whole, or cut with an ellipsis, at the last word
    boundary when that keeps at least half of the width."""
    if cells(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    kept: list[str] = []
    used = 0
    for ch in text:
        size = _cell(ch)
        if used + size > width - 1:
            break
        kept.append(ch)
        used += size
    head = "".join(kept)
    boundary = head.rstrip().rfind(" ")
    if boundary > 0 and cells(head[:boundary]) >= width // 2:
        head = head[:boundary]
    return head.rstrip(" ,;:") + ELLIPSIS


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cells(text))


def widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], total: int) -> list[int]:
    """Each column's width, so that a line fits in `total` cells when it can: the others
    give up cells, down to their `least`, for the last one to keep at least its own."""
    natural = [
        max([cells(column.title), *(cells(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    found = [
        min(width, column.most) if column.most is not None else width
        for width, column in zip(natural, columns, strict=True)
    ]
    last = columns[-1]
    room = total - sum(found[:-1]) - len(GAP) * (len(columns) - 1)
    shrinkable = sorted(range(len(columns) - 1), key=lambda i: found[i], reverse=True)
    want = natural[-1] if last.least is None else min(natural[-1], last.least)
    while room < want:
        wide = [i for i in shrinkable if found[i] > _least(columns[i], found[i])]
        if not wide:
            break
        found[wide[0]] -= 1
        room += 1
    found[-1] = max(want, min(natural[-1], room))
    return found


def _least(column: Column, width: int) -> int:
    return width if column.least is None else column.least


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], total: int) -> list[str]:
    """The lines of the table (title line first) in `total` cells wide."""
    sizes = widths(columns, rows, total)
    lines = []
    for row in [[column.title for column in columns], *rows]:
        fitted = [cut(cell, size) for cell, size in zip(row, sizes, strict=True)]
        padded = [pad(cell, size) for cell, size in zip(fitted[:-1], sizes[:-1], strict=True)]
        lines.append(GAP.join([*padded, fitted[-1]]).rstrip())
    return lines
