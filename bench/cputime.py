"""CPU time from /proc, for the benchmarks that run several processes: a process's own, a
PostgreSQL server's (the postmaster and every backend), and the whole machine's.

Owns reading /proc only (Linux). Never starts or stops a process.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onward)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def process_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of the process (every thread); with `reaped`, also of the children
    it has waited for (cutime + cstime)."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def server_seconds(data: Path) -> float:
    """CPU of the PostgreSQL server whose data directory is `data`: the postmaster, the
    backends it has reaped, and those alive now."""
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    total = process_seconds(postmaster, reaped=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return total


def machine_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, summed over its cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / TICKS, sum(fields) / TICKS
