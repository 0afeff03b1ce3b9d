"""Terminal columns: wide characters count two cells, a cut always ends with an ellipsis
(at a word when one is near), and a table fits the width it is given."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from notifier.outbox.columns import Column, cells, cut, table


def test_wide_characters_take_two_cells_and_combining_marks_none() -> None:
    assert cells("abc") == 3
    assert cells("春のカタログ") == 12
    assert cells("ＡＢ") == 4  # full-width
    assert cells("e\u0301") == 1


def test_a_cut_ends_at_a_word_with_an_ellipsis() -> None:
    reason = "550 5.1.1 The email account that you tried to reach does not exist"
    assert cut(reason, 24) == "550 5.1.1 The email…"
    assert cut("Supercalifragilistic", 8) == "Superca…", "no word near: cut inside, but said"
    assert cut("short", 8) == "short"
    assert cut("春のカタログ", 7) == "春のカ…"


@given(st.text(min_size=1, max_size=60), st.integers(min_value=1, max_value=40))
def test_a_cut_fits_and_never_hides_that_it_cut(text: str, width: int) -> None:
    result = cut(text, width)
    assert cells(result) <= width or cells(text) <= width
    if result != text:
        assert result.endswith("…")


def test_a_table_fits_the_width_and_keeps_its_columns_aligned() -> None:
    columns = (
        Column("ID"),
        Column("STATUS"),
        Column("JOB", most=32, least=8),
        Column("REASON", least=20),
    )
    message_id = "<4f43b2445fc76b3d991bec@ips-job-notifier>"
    rows = [
        ("1", "sent", "春のカタログ撮影データ一括公開ジョブ", message_id),
        ("12", "dead", "Bounced catalogue", "550 5.1.1 The email account that you tried to reach"),
    ]
    lines = table(columns, rows, 60)
    assert all(cells(line) <= 60 for line in lines), [cells(line) for line in lines]
    reason_at = {
        cells(line[: line.index(word)])
        for line, word in zip(lines, ("REASON", "<", "550"), strict=True)
    }
    assert len(reason_at) == 1, "the last column starts at the same cell on every line"
    assert lines[1].split()[0] == "1" and "春の" in lines[1]
    assert table(columns, rows, 1_000)[2].endswith("tried to reach"), "room: nothing is cut"
