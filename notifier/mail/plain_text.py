"""The plain-text part's layout: display widths, the facts table and wrapping of prose.

Owns how text lines up in a fixed-width mail reader (mutt, a terminal): wide (CJK)
characters count two columns, prose wraps at about 72 columns, bullets and table values
continue under their own first character (a hanging indent). Never translates or escapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

WIDTH = 72
"""Columns of the plain-text part: quoted once or twice it still fits 80."""
LABEL_COLUMNS = 24
"""The widest label the table aligns its values after."""

# Where a line may break: after a space, or between two wide characters (CJK text has no
# spaces), but never before closing punctuation or after opening punctuation (kinsoku).
_NO_LINE_START = frozenset(
    "、。，．・：；？！）」』】〕〉》”’ー々ゝゞぁぃぅぇぉっゃゅょァィゥェォッャュョ%,.:;!?)]}"
)
_NO_LINE_END = frozenset("（「『【〔〈《“‘([{")
_SPACE = re.compile(r"([ \t]+)")  # not U+00A0: a no-break space keeps its words together


@lru_cache(maxsize=4096)
def display_width(value: str) -> int:
    """Columns `value` takes in a fixed-width font: wide and fullwidth characters take two,
    combining marks none."""
    if value.isascii():
        return len(value)
    return sum(_char_width(ch) for ch in value)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1


def wrap(text: str, width: int = WIDTH, *, first: str = "", rest: str = "") -> list[str]:
    """`text` in lines of at most `width` columns where a break is possible, the first
    prefixed by `first`, the others by `rest` (a hanging indent). A single word longer
    than the line stays whole rather than being cut."""
    lines: list[str] = []
    line, used = first, display_width(first)
    at_start = True
    for token in _tokens(text):
        size = display_width(token)
        if token[0] in " \t":
            if not at_start:
                line, used = line + " ", used + 1
            continue
        if not at_start and used + size > width:
            lines.append(line.rstrip())
            line, used = rest, display_width(rest)
        line, used = line + token, used + size
        at_start = False
    lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> Iterable[str]:
    """Words and runs of space; wide characters are each a token of their own, with the
    punctuation that may not begin or end a line kept on the right side of the break."""
    for piece in _SPACE.split(text):
        if not piece:
            continue
        if piece[0] in " \t" or piece.isascii():
            yield piece
            continue
        yield from _split_wide(piece)


def _split_wide(word: str) -> Iterable[str]:
    token = ""
    for ch in word:
        breakable = (
            token
            and (_char_width(ch) == 2 or _char_width(token[-1]) == 2)
            and not (_is_hangul(ch) or _is_hangul(token[-1]))
            and ch not in _NO_LINE_START
            and token[-1] not in _NO_LINE_END
        )
        if breakable:
            yield token
            token = ""
        token += ch
    if token:
        yield token


def _is_hangul(ch: str) -> bool:
    """Korean is written with spaces between words and breaks only there ("keep-all")."""
    return "\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f"


def table(rows: Sequence[tuple[str, str]], colon: str = ":", width: int = WIDTH) -> str:
    """Label and value per row, the values aligned after the widest label and wrapped
    under themselves; `colon` is the language's ("\u00a0:" in French, "：" in CJK). A label
    longer than `LABEL_COLUMNS` does not push every value right: its own value follows it."""
    labels = [label + colon for label, _ in rows]
    column = min(max(display_width(label) for label in labels), LABEL_COLUMNS) + 1
    lines: list[str] = []
    for label, (_, value) in zip(labels, rows, strict=True):
        head = label + " " * max(1, column - display_width(label))
        indent = " " * column
        for number, paragraph in enumerate(value.split("\n")):
            lead = head if number == 0 else indent
            lines.extend(wrap(paragraph, width, first=lead, rest=indent))
    return "\n".join(lines)


def paragraph(text: str, width: int = WIDTH) -> str:
    return "\n".join(wrap(text, width))


def bullets(items: Sequence[str], width: int = WIDTH) -> str:
    return "\n".join("\n".join(wrap(item, width, first="- ", rest="  ")) for item in items)
