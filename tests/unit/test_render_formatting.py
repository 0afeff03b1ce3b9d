"""Durations, sizes and numbers as babel writes them for each locale."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.mail.formatting import Formatter
from notifier.mail.i18n import CATALOGS


@pytest.mark.parametrize(
    ("catalog", "seconds", "expected"),
    [
        ("en", 0, "0 seconds"),
        ("en", 1, "1 second"),
        ("en", 65, "1 minute, 5 seconds"),
        ("en", 3_600, "1 hour"),
        ("en", 3_660, "1 hour, 1 minute"),
        ("en", 90_061, "1 day, 1 hour"),
        ("en", 45 * 86_400, "45 days"),
        ("en", -5, "0 seconds"),
        ("de", 4_320, "1 Stunde, 12 Minuten"),
        ("es", 4_320, "1 hora y 12 minutos"),
        ("ja", 4_320, "1 時間 12 分"),
        ("zh_Hans", 4_320, "1小时12分钟"),
    ],
)
def test_durations_show_their_two_largest_units_exactly(
    catalog: str, seconds: int, expected: str
) -> None:
    assert Formatter.for_catalog(catalog, "UTC").duration(timedelta(seconds=seconds)) == expected


@pytest.mark.parametrize(
    ("catalog", "size", "expected"),
    [
        ("en", 512, "512 byte"),
        ("en", 1_500, "1.5 kB"),
        ("en", 340_500_000, "340.5 MB"),
        ("en", 3_482_115_072, "3.5 GB"),
        ("de", 3_482_115_072, "3,5\u00a0GB"),
        ("fr", 340_500_000, "340,5\u202fMo"),
    ],
)
def test_sizes_use_localized_units(catalog: str, size: int, expected: str) -> None:
    assert Formatter.for_catalog(catalog, "UTC").size(size) == expected


@pytest.mark.parametrize("catalog", CATALOGS)
def test_every_catalog_formats_every_kind_of_value(catalog: str) -> None:
    fmt = Formatter.for_catalog(catalog, "Europe/Berlin")
    for seconds in (0, 59, 61, 3_599, 3_601, 86_399, 86_401, 10 * 86_400 + 5):
        assert fmt.duration(timedelta(seconds=seconds))
    assert fmt.size(2_000_000)
    assert fmt.number(1_234_567)
    assert "50" in fmt.percent(50)
