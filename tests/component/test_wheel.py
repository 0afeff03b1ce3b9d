"""The built wheel carries its templates, catalogs and installation files: installed outside
the repository, it renders Japanese and German emails with `python -m notifier preview`, and
`notifier deploy-files --write` gives the example configuration, the unit and the monitoring
kit, byte for byte as in deploy/, so that INSTALL.md works from the wheel alone.

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
from dataclasses import dataclass
from pathlib import Path

import pytest

from notifier.deployfiles import FILES
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
    shutil.copytree(ROOT / "deploy", source / "deploy", ignore=ignore)
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


@dataclass(frozen=True, slots=True)
class Installed:
    wheel: Path
    python: Path
    elsewhere: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp_path = tmp_path_factory.mktemp("wheel")
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = _build_wheel(dist, tmp_path / "source")
    python = _fresh_environment(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    origin = _run(python, "-I", "-c", "import notifier; print(notifier.__file__)", cwd=elsewhere)
    assert origin.stdout.strip().startswith(str(tmp_path / "venv"))
    return Installed(wheel, python, elsewhere)


def test_the_installed_wheel_renders_japanese_and_german_emails(installed: Installed) -> None:
    shipped = set(zipfile.ZipFile(installed.wheel).namelist())
    for catalog in CATALOGS:
        assert f"notifier/locales/{catalog}/LC_MESSAGES/notifier.po" in shipped
    for template in TEMPLATES:
        assert f"notifier/templates/{template}" in shipped
    python, elsewhere = installed.python, installed.elsewhere

    shown = _run(python, "-I", "-m", "notifier", *PREVIEW, "ja-JP", cwd=elsewhere).stdout
    assert shown.startswith(translations("ja").gettext("Your job failed") + "\n")
    # The text part wraps at 72 columns; Japanese lines join without a space.
    assert "35 件のファイルを処理できませんでした。" in "".join(shown.splitlines())

    shown = _run(python, "-I", "-m", "notifier", *PREVIEW, "de-DE", cwd=elsewhere).stdout
    assert shown.startswith(translations("de").gettext("Your job failed") + "\n")
    assert "35 Dateien konnten nicht verarbeitet werden." in " ".join(shown.split())


def test_the_installed_wheel_writes_the_installation_files(installed: Installed) -> None:
    shipped = set(zipfile.ZipFile(installed.wheel).namelist())
    for deploy_file in FILES:
        assert f"notifier/deploy/{deploy_file.name}" in shipped
    python, elsewhere = installed.python, installed.elsewhere
    target = elsewhere / "deploy"

    _run(python, "-I", "-m", "notifier", "deploy-files", "--write", target, cwd=elsewhere)

    for deploy_file in FILES:
        written = (target / deploy_file.name).read_bytes()
        assert written == (ROOT / "deploy" / deploy_file.name).read_bytes(), deploy_file.name
    unit = _run(python, "-I", "-m", "notifier", "deploy-files", "notifier.service", cwd=elsewhere)
    assert unit.stdout == (ROOT / "deploy" / "notifier.service").read_text(encoding="utf-8")
    checked = _run(
        python,
        "-I",
        "-m",
        "notifier",
        "check-config",
        "-c",
        target / "notifier.toml.example",
        cwd=elsewhere,
    )
    assert "configuration OK" in checked.stdout
    assert "store: /var/lib/notifier/notifier.sqlite3" in checked.stdout
    again = subprocess.run(
        [str(python), "-I", "-m", "notifier", "deploy-files", "--write", str(target)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1, "an existing file is never replaced without --force"
    assert f"kept {target / 'notifier.service'}" in again.stdout
