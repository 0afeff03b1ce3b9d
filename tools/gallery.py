"""`make gallery`: every sample email, in every catalog, as HTML and text, plus screenshots.

Writes docs/emails/: `<catalog>/<status>.html` and `.txt` for every event and outcome in
every catalog, and `<catalog>/digest.*` for a digest of twelve jobs; PNG screenshots (Debian's
chromium, headless) at phone and desktop widths for a representative subset, and index.html
linking them all. The subset keeps the repository small: in every language the failed email
(the one with the most to read, at both widths) and the stalled one (phone); in English
every event and outcome (phone), and the failed one in dark mode; the digest in English and
Japanese (phone). tests/unit/test_gallery.py fails when the pages no longer match the
templates.

Usage: python tools/gallery.py [--no-screenshots] [--out docs/emails]
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from notifier.mail.gallery import DIGEST, GALLERY_LOCALES, GalleryEmail, gallery

ROOT = Path(__file__).resolve().parents[1]
PHONE, DESKTOP = 375, 1024
SENT = datetime(2026, 3, 14, 9, 48, 30, tzinfo=UTC)  # fixed: the gallery does not churn
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
_HEIGHT = re.compile(r"<title>gallery-height:(\d+)</title>")


def shots(item: GalleryEmail) -> list[tuple[int, bool]]:
    """(width, dark) of each screenshot taken of `item`."""
    if item.status == "failed":
        dark = [(PHONE, True)] if item.catalog == "en" else []
        return [(PHONE, False), (DESKTOP, False), *dark]
    if item.status == DIGEST:
        return [(PHONE, False)] if item.catalog in ("en", "ja") else []
    if item.status == "stalled" or item.catalog == "en":
        return [(PHONE, False)]
    return []


def png_name(item: GalleryEmail, width: int, dark: bool) -> str:
    kind = "phone" if width == PHONE else "desktop"
    return f"{item.catalog}/{item.status}-{kind}{'-dark' if dark else ''}.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "emails")
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    emails = gallery(SENT)
    write_parts(emails, args.out)
    pngs: set[str] = set()
    if not args.no_screenshots:
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print("chromium is missing: apt-get install -y chromium", file=sys.stderr)
            return 1
        pngs = screenshots(chromium, emails, args.out)
    else:
        pngs = {str(p.relative_to(args.out)) for p in args.out.glob("*/*.png")}
    (args.out / "index.html").write_text(index(emails, pngs), encoding="utf-8")
    print(f"{len(emails)} emails, {len(pngs)} screenshots in {args.out}")
    return 0


def write_parts(emails: list[GalleryEmail], out: Path) -> None:
    for item in emails:
        folder = out / item.catalog
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{item.status}.html").write_text(item.html, encoding="utf-8")
        text = item.message.parsed().get_body(("plain",))
        assert isinstance(text, EmailMessage)
        (folder / f"{item.status}.txt").write_text(text.get_content(), encoding="utf-8")


def screenshots(chromium: str, emails: list[GalleryEmail], out: Path) -> set[str]:
    done = set()
    with tempfile.TemporaryDirectory() as scratch:
        for item in emails:
            for width, dark in shots(item):
                name = png_name(item, width, dark)
                page = out / item.catalog / f"{item.status}.html"
                height = _height(chromium, page, width, dark, Path(scratch))
                _run(
                    chromium,
                    Path(scratch),
                    dark,
                    f"--window-size={width},{height}",
                    f"--screenshot={out / name}",
                    page.as_uri(),
                )
                done.add(name)
                print(f"  {name} ({width}x{height})")
    return done


def _height(chromium: str, page: Path, width: int, dark: bool, scratch: Path) -> int:
    """The page's full height at `width`, measured in a frame of that width (--dump-dom
    does not lay out at --window-size) by a page that reports it in its title."""
    probe = scratch / "probe.html"
    source = html.escape(page.read_text(encoding="utf-8"))
    probe.write_text(
        f'<html><body style="margin:0"><iframe id="f" style="width:{width}px;height:50px;'
        f'border:0" srcdoc="{source}"></iframe><script>document.getElementById("f").onload='
        "function(){document.title='gallery-height:'+"
        "this.contentDocument.documentElement.scrollHeight;};</script></body></html>",
        encoding="utf-8",
    )
    dom = _run(chromium, scratch, dark, "--dump-dom", probe.as_uri())
    found = _HEIGHT.search(dom)
    return int(found.group(1)) if found else 1600


def _run(chromium: str, scratch: Path, dark: bool, *args: str) -> str:
    profile = Path(tempfile.mkdtemp(dir=scratch))  # a new, empty profile every time
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    if dark:
        flags.append("--force-dark-mode")
    result = subprocess.run(
        [chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout


def index(emails: list[GalleryEmail], pngs: set[str]) -> str:
    statuses = list(dict.fromkeys(item.status for item in emails))
    rows = []
    for catalog in GALLERY_LOCALES:
        cells = []
        for status in statuses:
            links = [f'<a href="{catalog}/{status}.html">HTML</a>']
            links.append(f'<a href="{catalog}/{status}.txt">text</a>')
            images = sorted(p for p in pngs if p.startswith(f"{catalog}/{status}-"))
            thumbs = "".join(
                f'<a href="{p}"><img src="{p}" width="94" alt="{html.escape(p)}"></a>'
                for p in images
            )
            cells.append(f"<td>{' · '.join(links)}<br>{thumbs}</td>")
        tag = GALLERY_LOCALES[catalog]
        rows.append(f"<tr><th>{catalog}<br><small>{tag}</small></th>{''.join(cells)}</tr>")
    head = "".join(f"<th>{status}</th>" for status in statuses)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>IPS job notifier: every email</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #d0d5dd; padding: 6px; vertical-align: top; font-size: 13px; }}
img {{ display: block; margin-top: 4px; border: 1px solid #eaecf0; }}
</style></head>
<body>
<h1>Every email, in every language</h1>
<p>Rendered by <code>make gallery</code> from the sample job of <code>notifier preview</code>,
configured with <code>notify.reply_to</code> and <code>notify.dmc_url</code>. Screenshots:
Debian's chromium, headless, at {PHONE} px (phone) and {DESKTOP} px (desktop); the failed
email in every language at both widths, the stalled one on a phone, in English every
email on a phone and the failed one in dark mode, and the digest (twelve jobs, five of them
already sent one by one) on a phone in English and Japanese.</p>
<table>
<tr><th></th>{head}</tr>
{chr(10).join(rows)}
</table>
</body>
</html>
"""


if __name__ == "__main__":
    sys.exit(main())
