"""Which catalog a job's locale selects, and what never selects one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.mail.i18n import CATALOGS, bcp47, negotiate_locale, translations


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("de-DE", "de"),
        ("de-CH", "de"),
        ("es-MX", "es"),
        ("es_ES", "es"),
        ("ES-es", "es"),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("it-IT", "it"),
        ("ja-JP", "ja"),
        ("ko-KR", "ko"),
        ("nl-BE", "nl"),
        ("sv-SE", "sv"),
        ("pt", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("pt-BR", "pt_BR"),
        ("pt_BR", "pt_BR"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh_Hans", "zh_Hans"),
        ("zh-Hans-HK", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh_Hant", "zh_Hant"),
        ("zh-Hant-CN", "zh_Hant"),
        (" ja ", "en"),
        (None, "en"),
        ("", "en"),
        ("xx", "en"),
        ("tlh-KL", "en"),
        ("e", "en"),
        ("en--US", "en"),
        ("en-", "en"),
        ("ja-JP\r\nBcc: x@example.com", "en"),
        ("ja\x00", "en"),
        ("../../etc/passwd", "en"),
        ("..\\..\\windows", "en"),
        ("ja/../../x", "en"),
        ("ja-" + "a" * 10_000, "en"),
        ("a" * 10_000, "en"),
        ("日本語", "en"),
        ("de;q=0.9", "en"),
    ],
)
def test_a_job_locale_selects_the_catalog_of_its_language(tag: str | None, expected: str) -> None:
    assert negotiate_locale(tag) == expected


@pytest.mark.parametrize("tag", [None, "", "xx", "../../etc/passwd", "\x00", "a" * 10_000])
def test_an_unusable_locale_selects_the_configured_default(tag: str | None) -> None:
    assert negotiate_locale(tag, default="de") == "de"
    assert negotiate_locale(tag, default="pt-BR") == "pt_BR"


def test_an_unusable_default_falls_back_to_english() -> None:
    assert negotiate_locale("xx", default="../x") == "en"


def test_every_negotiated_name_is_a_shipped_catalog() -> None:
    for tag in ["en-US", "pt-PT", "zh-TW", "zh-CN", "xx", None]:
        assert negotiate_locale(tag) in CATALOGS


@pytest.mark.parametrize(
    ("catalog", "tag"),
    [("en", "en"), ("pt_BR", "pt-BR"), ("zh_Hans", "zh-Hans"), ("zh_Hant", "zh-Hant")],
)
def test_content_language_is_bcp47(catalog: str, tag: str) -> None:
    assert bcp47(catalog) == tag


def test_only_known_catalog_names_are_loaded() -> None:
    with pytest.raises(ValueError, match="unknown catalog"):
        translations("../../etc/passwd")
    with pytest.raises(ValueError, match="unknown catalog"):
        bcp47("en-US")


@settings(max_examples=300)
@given(st.one_of(st.none(), st.text(), st.from_regex(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}")))
def test_any_string_selects_a_shipped_catalog(tag: str | None) -> None:
    assert negotiate_locale(tag) in CATALOGS
