"""Locale-aware formatting of the variable parts of an email, through babel.

Owns how dates, durations, sizes, percentages and plain numbers look in each catalog's
locale. Pure functions of their arguments: never reads a clock or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale
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

    def datetime(self, value: datetime) -> str:
        """Babel's `medium` date and time in the configured zone; naive values are UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return format_datetime(value, "medium", tzinfo=self.zone, locale=self.locale)

    def zone_name(self) -> str:
        """The configured time zone as people call it: "Central European Time", "UTC"."""
        return _zone_name(self.zone, self.locale)

    def duration(self, value: timedelta) -> str:
        """The two largest units, exactly: "1 hour, 12 minutes", "3 days, 2 hours"."""
        remaining = max(0, int(value.total_seconds()))
        amounts: list[tuple[int, _DurationUnit, int]] = []
        for unit, unit_seconds in _DURATION_UNITS:
            amount, remaining = divmod(remaining, unit_seconds)
            amounts.append((amount, unit, unit_seconds))
        first = next((i for i, (amount, _, _) in enumerate(amounts) if amount), len(amounts) - 1)
        shown = [amounts[first]] + [part for part in amounts[first + 1 : first + 2] if part[0]]
        parts = [self._duration_part(*part) for part in shown]
        try:
            return format_list(parts, style="unit", locale=self.locale)
        except KeyError:
            # Babel's unit list data for some locales (es) lacks the patterns it inherits in
            # CLDR; the standard list pattern ("1 hora y 12 minutos") reads just as well.
            return format_list(parts, style="standard", locale=self.locale)

    def size(self, size_bytes: int) -> str:
        for unit, factor in _SIZE_UNITS:
            if size_bytes >= factor:
                return format_unit(
                    size_bytes / factor, unit, length="short", format="#,##0.#", locale=self.locale
                )
        return format_unit(size_bytes, "digital-byte", length="short", locale=self.locale)

    def number(self, value: int) -> str:
        if 0 <= value < 1000:  # no grouping, and every shipped locale writes Latin digits
            return str(value)
        return format_decimal(value, locale=self.locale)

    def percent(self, value: int) -> str:
        return _percent(value, self.locale)

    def _duration_part(self, amount: int, unit: _DurationUnit, unit_seconds: int) -> str:
        return _duration_part(amount, unit, unit_seconds, self.locale)


# Both are asked for with every email, from a handful of (catalog, zone) pairs: a small cache.
@lru_cache(maxsize=256)
def _formatter(catalog: str, timezone: str) -> Formatter:
    return Formatter(Locale.parse(catalog), ZoneInfo(timezone))


@lru_cache(maxsize=256)
def _zone_name(zone: ZoneInfo, locale: Locale) -> str:
    if zone.key in _UNIVERSAL_ZONES:
        return "UTC"
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
