"""`notifier sim` tells how to log in to it: in --help, and in its banner, as [ips] lines that
a configuration can take as they are."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from notifier.sim import DEFAULT_PASSWORD, DEFAULT_USER
from notifier.sim.server import DEFAULT_COMPANIES
from tests.e2e.conftest import DEADLINE, Notifier, child_environment


async def test_sim_help_gives_the_credentials(notifier: Notifier) -> None:
    shown = await notifier.run("sim", "--help")
    text = " ".join(shown.stdout.split())
    assert shown.returncode == 0
    assert f'user "{DEFAULT_USER}" with the password "{DEFAULT_PASSWORD}"' in text
    for company in DEFAULT_COMPANIES:
        assert f'"{company}"' in text


async def test_the_banner_s_ips_lines_log_in_to_the_simulator(
    notifier: Notifier, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "notifier",
        "sim",
        "--port",
        "0",
        cwd=tmp_path,
        env=child_environment(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or not banner[-1].strip().startswith("companies"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=DEADLINE)
            assert line, f"the simulator exited before its banner was complete: {banner}"
            banner.append(line.decode())
        assert f"password {DEFAULT_PASSWORD!r}" in banner[1]
        ips = [line.strip() for line in banner[banner.index("  [ips]\n") :]]
        config = tmp_path / "sim.toml"
        config.write_text(
            "\n".join([*ips, "[smtp]", 'from = "a@example.com"', "[http]", 'listen = ""', ""]),
            encoding="utf-8",
        )
        polled = await notifier.run("once", "-c", str(config))
        assert polled.returncode == 0, polled.output
        assert "refuses" not in polled.output
    finally:
        process.terminate()
        await process.wait()
