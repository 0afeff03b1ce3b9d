"""What text from IPS may carry into a header or a body."""

from __future__ import annotations

import pytest

from notifier.mail.safe_text import body_text, header_text, truncate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Spring catalog", "Spring catalog"),
        ("two\r\nlines", "two lines"),
        ("tab\there", "tab here"),
        ("nul\x00bell\x07esc\x1b", "nul bell esc"),
        ("\u202eevil\u202c", "evil"),
        ("mark\u200e", "mark"),
        ("para\u2029sep\u2028line", "para sep line"),
        ("team 👩\u200d💻", "team 👩\u200d💻"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("  spaced   out  ", "spaced out"),
    ],
)
def test_header_text_is_one_clean_line(raw: str, expected: str) -> None:
    assert header_text(raw) == expected


def test_body_text_keeps_lines_only_when_asked() -> None:
    raw = "first\r\nsecond\rthird\n\x00fourth \u202e"
    assert body_text(raw) == "first second third fourth"
    assert body_text(raw, multiline=True) == "first\nsecond\nthird\nfourth"


def test_body_text_keeps_direction_marks_and_scripts() -> None:
    assert body_text("ملف\u200f 日本語 🎉") == "ملف\u200f 日本語 🎉"


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("a little too long", 10, "a little\u2026"),
        ("cafe\u0301s and more", 6, "cafe\u0301\u2026"),
        ("cafe\u0301s and more", 5, "caf\u2026"),
        ("ab 👩\u200d💻 cd", 5, "ab\u2026"),
        ("ab 👩\u200d💻 cd", 6, "ab\u2026"),
        ("ab 👩\u200d💻 cd", 7, "ab 👩\u200d💻\u2026"),
        ("ok 👍\U0001f3fd yes", 5, "ok\u2026"),
    ],
)
def test_truncate_never_leaves_half_a_character(raw: str, limit: int, expected: str) -> None:
    assert truncate(raw, limit) == expected
