"""Every citation of docs/DESIGN.md in the code points at the page and at a section it has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "DESIGN.md"
CITATION = re.compile(r"(\S*DESIGN\.md)(?:'s|,)?\s*(?:\(?\"([^\"]+)\")?")


def citations() -> list[tuple[Path, str, str | None]]:
    found = []
    for folder in ("notifier", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            for match in CITATION.finditer(re.sub(r"\s+", " ", text)):
                found.append((path, match.group(1), match.group(2)))
    return found


def test_citations_name_the_page_by_its_path_and_its_sections_exist() -> None:
    headings = {
        line.lstrip("#").strip() for line in DESIGN.read_text().splitlines() if line[:1] == "#"
    }
    cited = citations()
    assert len(cited) >= 4
    wrong = [
        (path.relative_to(ROOT), name, section)
        for path, name, section in cited
        if name.strip("(`") != "docs/DESIGN.md"
        or (section and not any(heading.startswith(section) for heading in headings))
    ]
    assert wrong == []
