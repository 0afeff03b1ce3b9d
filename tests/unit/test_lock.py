"""What `make` installed is exactly what requirements.lock pins, no more and no less."""

from __future__ import annotations

import os
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "ips-job-notifier"
LOCK = ROOT / os.environ.get("NOTIFIER_LOCK", "requirements.lock")
"""The lock this environment was made from: `make floors` sets floors.lock."""


def locked() -> dict[str, str]:
    """The pins that apply to this interpreter, from the lock's `name==version ; marker` lines."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.rstrip(" \\"))
        if requirement.marker is None or requirement.marker.evaluate():
            (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            pins[canonicalize_name(requirement.name)] = version
    return pins


def installed() -> dict[str, str]:
    found = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    found.pop(PROJECT, None)
    return found


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    pins, present = locked(), installed()
    assert len(pins) > 40
    assert {name: v for name, v in present.items() if pins.get(name) != v} == {}, (
        "installed but not locked, or at another version: run `make clean test`"
    )
    assert set(pins) - set(present) == set(), "locked but not installed"


def test_the_lock_pins_every_range_of_pyproject_within_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ranges = [
        *project["project"]["dependencies"],
        *(r for extra in project["project"]["optional-dependencies"].values() for r in extra),
        *(r for group in project["dependency-groups"].values() for r in group),
    ]
    pins = locked()
    outside = {}
    for text in ranges:
        requirement = Requirement(text)
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pin, prereleases=True):
            outside[text] = pin
    assert outside == {}, "run `make lock`"
