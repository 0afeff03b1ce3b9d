"""The plain-text part in a fixed-width reader: 72 columns, wide characters counted twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.core.events import EventKind, Outcome
from notifier.mail.i18n import CATALOGS, bcp47
from notifier.mail.plain_text import WIDTH, display_width, table, wrap
from notifier.mail.preview import sample_completion, sample_event
from notifier.mail.render import render_bodies


@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize(
    ("kind", "outcome"),
    [(EventKind.STALLED, None), (EventKind.FINISHED, Outcome.FAILED)],
)
def test_every_line_fits_72_columns_in_every_language(
    catalog: str, kind: EventKind, outcome: Outcome | None
) -> None:
    done = sample_completion(outcome) if outcome else None
    text = render_bodies(sample_event(kind, bcp47(catalog)), done).text
    lines = text.splitlines()
    reference = lines[-1]  # the job's handle: an identifier, kept whole for copying
    assert "47|" in reference
    too_wide = [line for line in lines[:-1] if display_width(line) > WIDTH]
    assert too_wide == []


def test_wide_characters_count_two_columns_and_marks_none() -> None:
    assert display_width("ジョブ") == 6
    assert display_width("e\u0301") == 1
    assert display_width("abc") == 3


def test_a_bullet_continues_under_its_first_word() -> None:
    lines = wrap("word " * 30, 40, first="- ", rest="  ")
    assert lines[0].startswith("- word")
    assert all(line.startswith("  word") for line in lines[1:])
    assert all(len(line) <= 40 for line in lines)


def test_japanese_never_starts_a_line_with_closing_punctuation() -> None:
    text = "ジョブ「夏季カタログ」は実行中ですが、進行状況が更新されていません。" * 4
    lines = wrap(text, 30)
    assert len(lines) > 1
    assert not any(line[0] in "、。」）" for line in lines)
    assert "".join(lines) == text


def test_a_table_value_wraps_under_itself() -> None:
    out = table([("Job type", "x"), ("Description", "lorem ipsum " * 10)], width=40).splitlines()
    column = out[1].index("lorem")
    assert all(line[:column].isspace() for line in out[2:])
    assert out[0].startswith("Job type:")


@given(st.text(alphabet=st.sampled_from("ab 夏季、。「」"), max_size=200))
def test_wrapping_keeps_every_character_but_the_breaking_spaces(text: str) -> None:
    joined = "".join(wrap(text, 20))
    assert joined.replace(" ", "") == text.replace(" ", "")


def test_korean_breaks_only_between_words() -> None:
    text = "오류가 발생한 파일을 수정하거나 교체하십시오. 손상된 파일, 지원되지 않는 형식"
    lines = wrap(text, 30)
    words = set(text.split())
    assert len(lines) > 1
    assert all(set(line.split()) <= words for line in lines)


def test_a_long_label_does_not_push_every_value_right() -> None:
    rows = [("Type de tâche", "x"), ("Dernière mise à jour de la progression", "14 mars")]
    out = table(rows, colon="\u00a0:").splitlines()
    assert out[0] == "Type de tâche\u00a0:" + " " * 10 + "x"  # values from column 26
    assert out[1] == "Dernière mise à jour de la progression\u00a0: 14 mars"
