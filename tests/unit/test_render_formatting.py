"""Durations, sizes and numbers as babel writes them for each locale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.mail.formatting import Formatter
from notifier.mail.i18n import CATALOGS


@pytest.mark.parametrize(
    ("catalog", "seconds", "expected"),
    [
        ("en", 0, "0 seconds"),
        ("en", 1, "1 second"),
        ("en", 65, "1 minute and 5 seconds"),
        ("en", 3_600, "1 hour"),
        ("en", 3_660, "1 hour and 1 minute"),
        ("en", 90_061, "1 day and 1 hour"),
        ("en", 45 * 86_400, "45 days"),
        ("en", -5, "0 seconds"),
        ("de", 4_320, "1 Stunde und 12 Minuten"),
        ("es", 4_320, "1 hora y 12 minutos"),
        ("ja", 4_320, "1 時間 12 分"),
        ("zh_Hans", 4_320, "1小时12分钟"),
        ("sv", 4_320, "1 timme och 12 minuter"),
        ("ko", 4_320, "1시간 12분"),
        ("fr", 4_320, "1\u00a0heure et 12 minutes"),
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
        ("fr", 340_500_000, "340,5\u00a0Mo"),
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


AT = datetime(2026, 3, 14, 23, 2, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tag", "catalog", "locale", "expected"),
    [
        ("zh-HK", "zh_Hant", "zh-Hant-HK", "2026年3月14日 下午11:02:41"),
        ("zh-TW", "zh_Hant", "zh-Hant-TW", "2026年3月14日 晚上11:02:41"),
        ("en-GB", "en", "en-GB", "14 Mar 2026, 23:02:41"),
        ("en-US", "en", "en-US", "Mar 14, 2026, 11:02:41\u00a0PM"),
        ("pt-PT", "pt_BR", "pt-PT", "14/03/2026, 23:02:41"),
        ("pt-BR", "pt_BR", "pt-BR", "14 de mar. de 2026 23:02:41"),
        ("fr-CA", "fr", "fr-CA", "14 mars 2026, 23 h 02 min 41 s"),
        ("es-MX", "es", "es-MX", "14 mar 2026, 11:02:41\u00a0p.m."),
        # A locale of another language than the catalog's, or none: the catalog's formats.
        ("de-DE", "en", "en", "Mar 14, 2026, 11:02:41\u00a0PM"),
        (None, "ja", "ja", "2026/03/14 23:02:41"),
        ("pt", "pt_BR", "pt-BR", "14 de mar. de 2026 23:02:41"),
    ],
)
def test_dates_follow_the_jobs_full_locale_when_it_is_of_the_catalogs_language(
    tag: str | None, catalog: str, locale: str, expected: str
) -> None:
    fmt = Formatter.for_job(tag, catalog, "UTC")
    assert fmt.tag == locale
    assert fmt.datetime(AT) == expected


@pytest.mark.parametrize(
    ("tag", "catalog", "value", "expected"),
    [
        ("es-ES", "es", 1_248, "1248"),  # CLDR: at least two digits before a grouping
        ("es-ES", "es", 12_480, "12.480"),
        ("es-MX", "es", 1_248, "1,248"),
        ("pt-PT", "pt_BR", 1_248, "1248"),
        ("pt-BR", "pt_BR", 1_248, "1.248"),
        ("de-CH", "de", 1_248, "1'248"),
        ("fr-FR", "fr", 1_248, "1\u00a0248"),
        ("en-IN", "en", 1_234_567, "12,34,567"),
    ],
)
def test_numbers_are_grouped_as_the_region_groups_them(
    tag: str, catalog: str, value: int, expected: str
) -> None:
    assert Formatter.for_job(tag, catalog, "UTC").number(value) == expected


def test_beijing_time_is_called_so_in_simplified_chinese() -> None:
    assert Formatter.for_job("zh-CN", "zh_Hans", "Asia/Shanghai").zone_name() == "北京时间"
