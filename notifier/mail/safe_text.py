"""Text from IPS made safe to show: in a header, on one line, or as a block in a body.

Owns which characters never reach an email (controls, line breaks in headers, bidi
overrides, lone surrogates) and how long text is shortened. Never escapes HTML: Jinja2's
autoescape does that.
"""

from __future__ import annotations

import re
import unicodedata


def header_text(value: str) -> str:
    """One line safe for a header: no control, format or separator characters, and no
    RFC 2047 encoded word (the email package would decode one, CR LF and all, when the
    header is set: a job named "=?utf-8?q?x=0D=0ABcc:...?=" must stay text)."""
    if not value.isprintable():  # printable is the usual case, checked in C
        value = "".join(ch if ch.isprintable() or ch in _KEPT_FORMAT else " " for ch in value)
    return _SPACES.sub(" ", value.replace("=?", "= ?")).strip()


def body_text(value: str, *, multiline: bool = False) -> str:
    """Text from IPS made safe to show: no controls, no bidi overrides, no lone surrogates."""
    if value.isprintable():  # no line breaks, controls or format characters: nothing to drop
        return _SPACES.sub(" ", value).strip()
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cleaned = [_SPACES.sub(" ", "".join(map(_body_char, line))).strip() for line in lines]
    if multiline:
        return "\n".join(cleaned).strip("\n")
    return " ".join(part for part in cleaned if part)


def truncate(value: str, limit: int) -> str:
    """At most `limit` characters, ending with "…" when shortened, never mid-character."""
    if len(value) <= limit:
        return value
    end = limit - 1
    # Back off to a boundary people see: not before a combining mark or a variation
    # selector, not inside an emoji joined with ZWJ.
    while end > 0 and (_continues(value[end]) or value[end - 1] == "\u200d"):
        end -= 1
    return value[:end].rstrip() + "\u2026"


def _continues(ch: str) -> bool:
    return (
        unicodedata.category(ch) in {"Mn", "Me"}
        or ch in _KEPT_FORMAT
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
    )


_SPACES = re.compile(r"\s+")
# Joiners and emoji tag characters carry meaning inside names and cannot reorder text.
_KEPT_FORMAT = frozenset("\u200c\u200d") | frozenset(map(chr, range(0xE0020, 0xE0080)))
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _body_char(ch: str) -> str:
    if ch in _BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Cs", "Zl", "Zp"}:
        return " "
    return ch
