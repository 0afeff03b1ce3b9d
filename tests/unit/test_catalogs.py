"""The shipped catalogs: complete, not fuzzy, same placeholders, and in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from notifier.mail.i18n import CATALOGS, translations

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")


def _read(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file)


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {
        message.id if isinstance(message.id, str) else tuple(message.id)
        for message in catalog
        if message.id
    }


def _forms(message: Message) -> list[str]:
    return [message.id] if isinstance(message.id, str) else list(message.id)


def _translations(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(LOCALES / "notifier.pot")


def test_the_template_is_in_step_with_the_code_and_templates(tmp_path: Path) -> None:
    fresh = tmp_path / "notifier.pot"
    options = ["-F", str(ROOT / "babel.cfg"), "--add-comments=TRANSLATORS:", "-o", str(fresh)]
    CommandLineInterface().run(["pybabel", "-q", "extract", *options, str(ROOT)])
    committed = _ids(_read(LOCALES / "notifier.pot"))
    extracted = _ids(_read(fresh))
    assert extracted - committed == set(), "new messages: run pybabel extract (see babel.cfg)"
    assert committed - extracted == set(), "messages no longer used: run pybabel extract"


@pytest.mark.parametrize("catalog_name", CATALOGS)
def test_every_catalog_translates_every_message(catalog_name: str, template: Catalog) -> None:
    catalog = _read(LOCALES / catalog_name / "LC_MESSAGES" / "notifier.po")
    assert _ids(catalog) == _ids(template)
    nplurals, plural_expr = get_plural(catalog_name)
    assert catalog.plural_forms == f"nplurals={nplurals}; plural={plural_expr};"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{catalog_name}: fuzzy {message.id!r}"
        forms = _translations(message)
        expected_forms = 1 if isinstance(message.id, str) else nplurals
        assert len(forms) == expected_forms, f"{catalog_name}: plural forms of {message.id!r}"
        assert all(form.strip() for form in forms), f"{catalog_name}: empty {message.id!r}"
        wanted = _placeholders(_forms(message)[-1])
        for form in forms:
            assert _placeholders(form) == wanted, f"{catalog_name}: placeholders in {form!r}"


@pytest.mark.parametrize("catalog_name", [name for name in CATALOGS if name != "en"])
def test_translations_are_not_english(catalog_name: str, template: Catalog) -> None:
    catalog = translations(catalog_name)
    singles = [m for m in template if isinstance(m.id, str) and m.id]
    unchanged = [
        m.id
        for m in singles
        if (catalog.pgettext(m.context, m.id) if m.context else catalog.gettext(m.id)) == m.id
    ]
    # A few words are the same in some languages ("Job" in German, "Description" in French).
    assert len(unchanged) <= 3, f"{catalog_name}: untranslated {unchanged}"


@pytest.mark.parametrize(
    ("catalog_name", "count", "expected"),
    [
        ("en", 1, "1 file could not be processed."),
        ("en", 0, "0 files could not be processed."),
        ("fr", 0, "0 fichier n’a pas pu être traité."),
        ("fr", 2, "2 fichiers n’ont pas pu être traités."),
        ("fr", 2_000_000, "2000000 de fichiers n’ont pas pu être traités."),
        ("es", 1_000_000, "No se han podido procesar 1000000 de archivos."),
        ("es", 1_000_001, "No se han podido procesar 1000001 archivos."),
        ("de", 1, "1 Datei konnte nicht verarbeitet werden."),
        ("ja", 5, "5 件のファイルを処理できませんでした。"),
    ],
)
def test_counts_take_the_plural_form_of_the_language(
    catalog_name: str, count: int, expected: str
) -> None:
    text = translations(catalog_name).ngettext(
        "%(num)s file could not be processed.", "%(num)s files could not be processed.", count
    )
    assert text % {"num": count} == expected
