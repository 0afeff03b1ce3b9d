"""`notifier deploy-files`: the installation files the wheel carries, listed, printed or
written out, so that deploy/INSTALL.md works from the wheel alone.

Owns the list of shipped files and how they are written: never over an existing file unless
told to (`--force`), each with the mode it is installed with. Reads them from the package
notifier.deploy (the repository's deploy/, mapped into the wheel by pyproject.toml).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

PACKAGE = "notifier.deploy"


@dataclass(frozen=True, slots=True)
class DeployFile:
    name: str
    """Its path under deploy/ (and under the directory `--write` fills)."""
    about: str


FILES = (
    DeployFile("notifier.toml.example", "the configuration, every key with its default"),
    DeployFile("notifier.service", "the systemd unit"),
    DeployFile("INSTALL.md", "how to install, check, monitor, upgrade and back up"),
    DeployFile("prometheus/notifier-rules.yml", "Prometheus alert rules"),
    DeployFile("prometheus/notifier-rules.test.yml", "their unit tests (promtool test rules)"),
    DeployFile("grafana/notifier-dashboard.json", "a Grafana dashboard of every metric"),
    DeployFile("postgres/notifier-database.sql", "the shared store's database and login"),
    DeployFile("postgres/notifier-replica.conf", "a unit drop-in for a replica: its password"),
)


class DeployFilesError(Exception):
    """An unknown file was asked for, or the target cannot be written as asked."""


def content(name: str) -> bytes:
    """The bytes of the shipped file `name` (one of FILES)."""
    known = {f.name for f in FILES}
    if name not in known:
        raise DeployFilesError(
            f"no shipped file {name!r}; the files are: {', '.join(sorted(known))}"
        )
    return resources.files(PACKAGE).joinpath(name).read_bytes()


def list_files(out: TextIO) -> int:
    width = max(len(f.name) for f in FILES)
    for shipped in FILES:
        out.write(f"{shipped.name.ljust(width)}  {shipped.about}\n")
    out.write("\nprint one: notifier deploy-files NAME; write them all: --write DIR\n")
    return 0


def show(name: str, out: TextIO) -> int:
    out.write(content(name).decode("utf-8"))
    return 0


def write_all(directory: Path, *, force: bool, out: TextIO) -> int:
    """Write every shipped file under `directory`; 1 when one was there and kept."""
    kept = 0
    for shipped in FILES:
        target = directory / shipped.name
        if target.exists() and not force:
            out.write(f"kept {target}: it exists (--force replaces it)\n")
            kept += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content(shipped.name))
        target.chmod(0o644)
        out.write(f"wrote {target}\n")
    return 1 if kept else 0
