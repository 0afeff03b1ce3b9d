"""Locale-aware formatting of the variable parts of an email, through babel.

Owns how dates, durations (exact, or rounded as an estimate), sizes, percentages and plain
numbers look in a job's locale: the catalog is chosen by language, but formats follow the
job's full locale when babel knows it (zh-HK formats as zh_Hant_HK, en-GB as en_GB, pt-PT as
pt_PT). Pure functions of their
arguments: never reads a clock or the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_timedelta, get_timezone_name
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

# Largest first; a duration shows its two largest non-zero units ("1 hour, 12 minutes").
_DurationUnit = Literal["day", "hour", "minute", "second"]
_DURATION_UNITS: tuple[tuple[_DurationUnit, int], ...] = (
    ("day", 86_400),
    ("hour", 3_600),
    ("minute", 60),
    ("second", 1),
)

# CLDR has no name for these; babel would call them "Unknown Region (UTC) Time".
_UNIVERSAL_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT"})
_UNIVERSAL_ZONES |= {"Universal", "Zulu", "GMT", "Etc/GMT", "Etc/Greenwich", "Greenwich"}

# CLDR's minimumGroupingDigits is 2 for these (numbers.json; es-419 has 1): "1248", but
# "12.480". Babel does not read that value, so it is applied here.
_MIN_GROUPING_TWO = frozenset({"es", "es_ES", "pt_PT"})

# Languages that join a duration's units without a conjunction ("1 時間 12 分", "1시간 12분");
# the others join them as they join any list ("1 Stunde und 12 Minuten").
_UNIT_JOINED = frozenset({"ja", "ko", "zh"})

# Old fonts (Outlook on Windows) show U+202F, CLDR's narrow no-break space in times and
# French numbers, as a box; U+00A0 keeps the text together just the same.
_NARROW_NBSP = str.maketrans({"\u202f": "\u00a0"})

# Names readers expect where CLDR's differ: CLDR calls Asia/Shanghai "中国标准时间".
_ZONE_NAMES: dict[tuple[str, str], str] = {("Asia/Shanghai", "zh"): "北京时间"}

_TAG_SEPARATOR = re.compile(r"[-_]")

# Decimal (SI) multiples, as the CLDR units name them.
_SIZE_UNITS: tuple[tuple[str, int], ...] = (
    ("digital-gigabyte", 1_000_000_000),
    ("digital-megabyte", 1_000_000),
    ("digital-kilobyte", 1_000),
)


@dataclass(frozen=True, slots=True)
class Formatter:
    """Formats values for one babel locale and one time zone."""

    locale: Locale
    zone: ZoneInfo

    @classmethod
    def for_catalog(cls, catalog: str, timezone: str) -> Formatter:
        """`catalog` is one of the shipped catalog names; `timezone` an IANA zone name."""
        return _formatter(catalog, timezone)

    @classmethod
    def for_job(cls, tag: str | None, catalog: str, timezone: str) -> Formatter:
        """The formats of the job's locale `tag` when it is a region or script of the
        `catalog`'s language (``en-GB`` for ``en``); otherwise the catalog's own."""
        return _formatter(region_locale(tag, catalog), timezone)

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the locale formatted for: ``zh-Hant-HK``, ``en-GB``."""
        return str(self.locale).replace("_", "-")

    def datetime(self, value: datetime) -> str:
        """Babel's `medium` date and time in the configured zone; naive values are UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        text = format_datetime(value, "medium", tzinfo=self.zone, locale=self.locale)
        return text.translate(_NARROW_NBSP)

    def zone_name(self) -> str:
        """The configured time zone as people call it: "Central European Time", "UTC"."""
        return _zone_name(self.zone, self.locale)

    def duration(self, value: timedelta) -> str:
        """The two largest units, exactly: "1 hour and 12 minutes", "3 days and 2 hours"."""
        remaining = max(0, int(value.total_seconds()))
        amounts: list[tuple[int, _DurationUnit, int]] = []
        for unit, unit_seconds in _DURATION_UNITS:
            amount, remaining = divmod(remaining, unit_seconds)
            amounts.append((amount, unit, unit_seconds))
        first = next((i for i, (amount, _, _) in enumerate(amounts) if amount), len(amounts) - 1)
        shown = [amounts[first]] + [part for part in amounts[first + 1 : first + 2] if part[0]]
        parts = [self._duration_part(*part) for part in shown]
        if self.locale.language in _UNIT_JOINED:
            joined = format_list(parts, style="unit", locale=self.locale)
        else:
            joined = format_list(parts, style="standard", locale=self.locale)
        return joined.translate(_NARROW_NBSP)

    def approximate(self, value: timedelta) -> str:
        """An estimate's duration, rounded to one unit as babel rounds: "25 minutes",
        "2 hours", "3 days" (never under a minute); a line never breaks inside it."""
        text = format_timedelta(value, granularity="minute", locale=self.locale)
        return text.translate(_NARROW_NBSP).replace(" ", "\u00a0")

    def size(self, size_bytes: int) -> str:
        for unit, factor in _SIZE_UNITS:
            if size_bytes >= factor:
                text = format_unit(
                    size_bytes / factor, unit, length="short", format="#,##0.#", locale=self.locale
                )
                return text.translate(_NARROW_NBSP)
        text = format_unit(size_bytes, "digital-byte", length="short", locale=self.locale)
        return text.translate(_NARROW_NBSP)

    def number(self, value: int) -> str:
        if 0 <= value < 1000:  # no grouping, and every shipped locale writes Latin digits
            return str(value)
        grouped = not (-10_000 < value < 10_000 and str(self.locale) in _MIN_GROUPING_TWO)
        text = format_decimal(value, locale=self.locale, group_separator=grouped)
        return text.translate(_NARROW_NBSP)

    def percent(self, value: int) -> str:
        return _percent(value, self.locale).translate(_NARROW_NBSP)

    def _duration_part(self, amount: int, unit: _DurationUnit, unit_seconds: int) -> str:
        return _duration_part(amount, unit, unit_seconds, self.locale)


# Both are asked for with every email, from a handful of (catalog, zone) pairs: a small cache.
@lru_cache(maxsize=256)
def _formatter(catalog: str, timezone: str) -> Formatter:
    return Formatter(Locale.parse(catalog), ZoneInfo(timezone))


@lru_cache(maxsize=256)
def region_locale(tag: str | None, catalog: str) -> str:
    """The babel name of the job's full locale when it belongs to `catalog`'s language (and
    script), else `catalog`: ``("zh-HK", "zh_Hant")`` -> ``"zh_Hant_HK"``."""
    base = Locale.parse(catalog)
    if not tag or len(tag) > 64:
        return catalog
    try:
        full = Locale.parse("_".join(_TAG_SEPARATOR.split(tag)))
    except (UnknownLocaleError, ValueError, TypeError):
        return catalog
    if full.language != base.language or (base.script and full.script != base.script):
        return catalog
    if base.territory and full.territory is None:
        return catalog  # "pt" alone: the catalog's own region, Brazil
    return str(full)


@lru_cache(maxsize=256)
def _zone_name(zone: ZoneInfo, locale: Locale) -> str:
    if zone.key in _UNIVERSAL_ZONES:
        return "UTC"
    named = _ZONE_NAMES.get((zone.key, locale.language))
    if named is not None and locale.script != "Hant":
        return named
    return get_timezone_name(zone, width="long", locale=locale)


@lru_cache(maxsize=4096)  # mostly small amounts (under 60) of four units, in a dozen locales
def _duration_part(amount: int, unit: _DurationUnit, unit_seconds: int, locale: Locale) -> str:
    # An infinite threshold makes babel keep the unit asked for instead of rounding up.
    return format_timedelta(
        timedelta(seconds=amount * unit_seconds),
        granularity=unit,
        threshold=float("inf"),
        locale=locale,
    )


@lru_cache(maxsize=2048)  # 0..100 in a dozen locales
def _percent(value: int, locale: Locale) -> str:
    return format_percent(value / 100, locale=locale)
