"""Locale negotiation and gettext catalogs for the emails.

Owns the list of shipped catalogs, the mapping of a job's locale tag (``en-US``, ``pt-BR``,
``zh-TW``...) to one of them, and loading a catalog from its ``.po`` file. Catalogs are
compiled in memory at first use, so a compiled catalog can never be stale against its source.

A locale string from IPS never reaches the filesystem: paths are only ever built from the
fixed names in ``CATALOGS``.
"""

from __future__ import annotations

import gettext
import re
from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "notifier"

CATALOGS: tuple[str, ...] = (
    "en",
    "de",
    "es",
    "fr",
    "it",
    "ja",
    "ko",
    "nl",
    "pt_BR",
    "sv",
    "zh_Hans",
    "zh_Hant",
)

# Languages whose one catalog serves every region.
_SINGLE_CATALOG: dict[str, str] = {name: name for name in CATALOGS if "_" not in name}
_SINGLE_CATALOG["pt"] = "pt_BR"

# Regions written in Traditional Chinese when no script subtag says otherwise.
_HANT_REGIONS = frozenset({"tw", "hk", "mo"})

# language, then optional subtags (script, region, variants), separated by "-" or "_".
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_MAX_TAG_LENGTH = 64


def negotiate_locale(tag: str | None, default: str = "en") -> str:
    """The catalog name for a job's locale tag, with language fallback, else `default`.

    `default` is itself negotiated, so a configured ``en-GB`` or ``pt-BR`` works; a default
    that matches nothing falls back to English.
    """
    found = _match(tag)
    if found is not None:
        return found
    return _match(default) or "en"


def bcp47(catalog: str) -> str:
    """The BCP 47 tag of a catalog name, for Content-Language: ``pt_BR`` -> ``pt-BR``."""
    if catalog not in CATALOGS:
        raise ValueError(f"unknown catalog {catalog!r}; known: {', '.join(CATALOGS)}")
    return catalog.replace("_", "-")


def translations(catalog: str) -> gettext.GNUTranslations:
    """The compiled catalog for one of `CATALOGS`, cached for the life of the process."""
    if catalog not in CATALOGS:
        raise ValueError(f"unknown catalog {catalog!r}; known: {', '.join(CATALOGS)}")
    return _load(catalog)


def N_(message: str) -> str:
    """Marks a string for extraction where it is translated later, by its value."""
    return message


def _match(tag: str | None) -> str | None:
    if not tag or len(tag) > _MAX_TAG_LENGTH or _TAG.fullmatch(tag) is None:
        return None
    language, *subtags = tag.lower().replace("_", "-").split("-")
    if language == "zh":
        return _chinese(subtags)
    return _SINGLE_CATALOG.get(language)


def _chinese(subtags: list[str]) -> str:
    if "hant" in subtags:
        return "zh_Hant"
    if "hans" in subtags:
        return "zh_Hans"
    if any(subtag in _HANT_REGIONS for subtag in subtags):
        return "zh_Hant"
    return "zh_Hans"


@cache
def _load(catalog: str) -> gettext.GNUTranslations:
    source = resources.files("notifier.locales") / catalog / "LC_MESSAGES" / f"{DOMAIN}.po"
    with source.open("rb") as po_file:
        parsed = read_po(po_file, locale=catalog, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
