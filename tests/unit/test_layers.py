"""The core imports on a machine without the I/O libraries (docs/DESIGN.md, "Layers")."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import notifier.core

IO_LIBRARIES = ["lxml", "aiohttp", "sqlite3", "_sqlite3", "aiosmtplib", "aiosmtpd", "smtplib"]

PROBE = """
import importlib, sys
for name in {blocked!r}:
    sys.modules[name] = None  # an import of it raises ImportError, as if not installed
for name in {modules!r}:
    importlib.import_module(name)
print("ok")
"""


def test_every_core_module_imports_without_io_libraries() -> None:
    modules = [
        info.name for info in pkgutil.walk_packages(notifier.core.__path__, "notifier.core.")
    ]
    assert "notifier.core.diff" in modules and "notifier.core.jobs" in modules
    probe = PROBE.format(blocked=IO_LIBRARIES, modules=["notifier.core", *modules])
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
