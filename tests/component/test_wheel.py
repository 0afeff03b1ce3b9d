"""The built wheel carries its templates and catalogs: installed outside the repository, it
renders Japanese and German emails with `python -m notifier preview`.

Builds the wheel with pip from a copy of the package sources (the catalogs come from the
top-level locales/; the build backend is this venv's locked setuptools), installs it into a
fresh virtual environment in a temporary directory, and lends that environment this venv's
third-party packages only, so that `notifier` itself can only come from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from notifier.mail.i18n import CATALOGS, translations

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ["layout.html", "layout.txt"] + [
    f"{kind}.j2" for kind in ("queued", "started", "progress", "stalled", "stopping", "finished")
]
PREVIEW = ["preview", "--event", "finished", "--outcome", "failed", "--locale"]


def _run(*args: str | Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def _build_wheel(dist: Path, source: Path) -> Path:
    # From a copy of what the wheel is made of, so the build leaves nothing in the checkout.
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "notifier", source / "notifier", ignore=ignore)
    shutil.copytree(ROOT / "locales", source / "locales", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, source]
    _run(sys.executable, "-m", "pip", *build, cwd=dist)
    (wheel,) = dist.glob("ips_job_notifier-*.whl")
    return wheel


def _fresh_environment(where: Path, wheel: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=where
        ).stdout.strip()
    )
    install = ["install", "--no-deps", "--no-index", "-q", "--target", site, wheel]
    _run(sys.executable, "-m", "pip", *install, cwd=where)
    # Dependencies from this venv; a plain path entry does not run the editable-install hook
    # found there, so `notifier` still comes from the wheel.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_the_installed_wheel_renders_japanese_and_german_emails(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = _build_wheel(dist, tmp_path / "source")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for catalog in CATALOGS:
        assert f"notifier/locales/{catalog}/LC_MESSAGES/notifier.po" in shipped
    for template in TEMPLATES:
        assert f"notifier/templates/{template}" in shipped

    python = _fresh_environment(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    origin = _run(python, "-I", "-c", "import notifier; print(notifier.__file__)", cwd=elsewhere)
    assert origin.stdout.strip().startswith(str(tmp_path / "venv"))

    shown = _run(python, "-I", "-m", "notifier", *PREVIEW, "ja-JP", cwd=elsewhere).stdout
    assert shown.startswith(translations("ja").gettext("Your job failed") + "\n")
    # The text part wraps at 72 columns; Japanese lines join without a space.
    assert "35 件のファイルを処理できませんでした。" in "".join(shown.splitlines())

    shown = _run(python, "-I", "-m", "notifier", *PREVIEW, "de-DE", cwd=elsewhere).stdout
    assert shown.startswith(translations("de").gettext("Your job failed") + "\n")
    assert "35 Dateien konnten nicht verarbeitet werden." in " ".join(shown.split())
