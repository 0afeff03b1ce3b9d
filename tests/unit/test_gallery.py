"""docs/emails/ shows what the notifier sends today: every page of the gallery matches a
fresh rendering of the templates and catalogs, so a template or translation change that
forgot `make gallery` fails here, naming the pages."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "docs" / "emails"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gallery_tool", ROOT / "tools" / "gallery.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gallery_pages_match_the_templates(tmp_path: Path) -> None:
    tool = _tool()
    emails = tool.gallery(tool.SENT)
    tool.write_parts(emails, tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.glob("*/*.*")}
    shown = {p.relative_to(PAGES): p.read_bytes() for p in PAGES.glob("*/*.html")}
    shown |= {p.relative_to(PAGES): p.read_bytes() for p in PAGES.glob("*/*.txt")}
    assert any(p.name == "digest.html" for p in fresh), "the gallery has no digest"
    stale = sorted(str(p) for p in fresh if shown.get(p) != fresh[p])
    gone = sorted(str(p) for p in shown if p not in fresh)
    assert not stale and not gone, (
        f"docs/emails/ is out of date (run `make gallery` and commit it): differ or missing "
        f"{stale[:10]}{' …' if len(stale) > 10 else ''}; no longer rendered {gone[:10]}"
    )


def test_the_index_links_every_page_and_screenshot() -> None:
    index = (PAGES / "index.html").read_text(encoding="utf-8")
    for page in [*PAGES.glob("*/*.html"), *PAGES.glob("*/*.txt"), *PAGES.glob("*/*.png")]:
        assert f'"{page.relative_to(PAGES)}"' in index, f"index.html does not link {page.name}"
