"""Shared pieces of the end-to-end tests: the real `notifier` process, the IPS simulator and an
SMTP sink, a config file that joins them, and waits on conditions with deadlines.

The simulator runs in the test's event loop, so every `notifier` process is started with
`asyncio.create_subprocess_exec` and every wait yields to the loop. The SMTP sink runs in its
own thread (tests/smtp_sink.py), speaks STARTTLS and requires AUTH, so that the SMTP password
really travels. Everything any process prints is kept, and each test ends by checking that no
password (nor its base64 form, as AUTH sends it) ever appeared in it.

Never listens on anything but loopback; never sleeps to synchronise (it polls a condition).
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier.core.jobs import ActiveJob
from notifier.sim import DEFAULT_USER, Pacing, Simulator
from tests.smtp_sink import SinkTls, SmtpSink, make_tls_files
from tests.waiting import wait_until

DEADLINE = 20.0
"""Seconds any one condition may take before the test fails (generous: a busy 2-core box)."""

COMPANY = "47"
IPS_PASSWORD = "ips-Pw-e2e-Q7zK4vX"  # distinctive, to be searched for
WRONG_IPS_PASSWORD = "not-the-ips-Pw-R2d9Lm"  # distinctive, to be searched for
SMTP_USER = "relay-e2e"
SMTP_PASSWORD = "smtp-Pw-e2e-M3nB8wJ"  # distinctive, to be searched for
WRONG_SMTP_PASSWORD = "not-the-smtp-Pw-T5c1Hy"  # distinctive, to be searched for
SENDER = "IPS Jobs <ips-jobs@example.com>"

#: Variables of the test runner's environment that would change what the process does.
_INHERITED_OUT = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "CREDENTIALS_DIRECTORY")
_INHERITED_OUT_PREFIXES = ("NOTIFIER_", "STATE_DIRECTORY")


def secret_forms(*secrets: str) -> list[str]:
    """Each secret as printed, and base64-encoded as SMTP AUTH PLAIN and LOGIN would send it."""
    forms: list[str] = []
    for secret in secrets:
        forms.append(secret)
        forms.append(base64.b64encode(secret.encode()).decode())
        plain = f"\0{SMTP_USER}\0{secret}".encode()
        forms.append(base64.b64encode(plain).decode())
    return forms


SECRETS = secret_forms(IPS_PASSWORD, WRONG_IPS_PASSWORD, SMTP_PASSWORD, WRONG_SMTP_PASSWORD)


async def wait_for(
    probe: Callable[[], Awaitable[bool]], what: str, *, within: float = DEADLINE
) -> None:
    """As `wait_until`, for a condition that has to be asked over the network."""
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


# --- what the processes printed -------------------------------------------------------------


@dataclass(slots=True)
class Transcript:
    """Everything every process of one test printed, labelled by command."""

    outputs: list[tuple[str, list[str]]] = field(default_factory=list)

    def channel(self, label: str) -> list[str]:
        lines: list[str] = []
        self.outputs.append((label, lines))
        return lines

    def leaks(self) -> list[str]:
        return [
            f"{label}: {form!r}"
            for label, lines in self.outputs
            for form in SECRETS
            if any(form in line for line in lines)
        ]


@pytest.fixture(autouse=True)
def transcript() -> Iterator[Transcript]:
    kept = Transcript()
    yield kept
    assert not kept.leaks(), f"a password appeared in the output: {kept.leaks()}"


# --- the notifier processes -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completed:
    """A `notifier` command that ran to its end."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Daemon:
    """A running `notifier run`; its stderr is read line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process, lines: list[str]) -> None:
        self.process = process
        self.lines = lines
        assert process.stderr is not None and process.stdout is not None
        self._readers = [
            asyncio.create_task(_collect(process.stderr, lines)),
            asyncio.create_task(_collect(process.stdout, lines)),
        ]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_log(self, text: str, *, within: float = DEADLINE) -> str:
        """The first line containing `text`, once the process has written it."""
        await wait_until(
            lambda: any(text in line for line in self.lines) or self.process.returncode is not None,
            f"{text!r} in the daemon's log",
            within=within,
        )
        found = [line for line in self.lines if text in line]
        assert found, f"the daemon exited ({self.process.returncode}) without {text!r}:\n{self.log}"
        return found[0]

    async def http_base(self) -> str:
        """The http://host:port of its /healthz, /readyz and /metrics, from its log."""
        line = await self.wait_for_log("health and metrics on http://")
        return line.split(" on ", 1)[1].strip().rstrip("/")

    async def stop(self, *, within: float = DEADLINE) -> int:
        """SIGTERM, as systemd stops it; the exit status once it has exited."""
        self.process.send_signal(signal.SIGTERM)
        return await self.wait(within=within)

    async def wait(self, *, within: float = DEADLINE) -> int:
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout=within)
        except TimeoutError:
            raise AssertionError(f"the daemon did not exit within {within:.0f} s") from None
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await asyncio.gather(*self._readers)


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    async for raw in stream:
        lines.append(raw.decode("utf-8", "replace").rstrip("\n"))


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The runner's environment without anything that would steer the notifier, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _INHERITED_OUT and not name.startswith(_INHERITED_OUT_PREFIXES)
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Notifier:
    """Runs `python -m notifier ...` in the test's directory; kills what is left at the end."""

    def __init__(self, cwd: Path, transcript: Transcript) -> None:
        self.cwd = cwd
        self._transcript = transcript
        self._daemons: list[Daemon] = []

    async def run(
        self, *args: str, env: Mapping[str, str] | None = None, within: float = DEADLINE
    ) -> Completed:
        """One command to its end (`once`, `check-config`, `outbox`, `preview`...)."""
        process = await self._spawn(args, env)
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout=within)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"notifier {' '.join(args)} ran longer than {within} s") from None
        stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        self._transcript.channel(" ".join(args)).extend([stdout, stderr])
        assert process.returncode is not None
        return Completed(tuple(args), process.returncode, stdout, stderr)

    async def start(self, config: Path, *, env: Mapping[str, str] | None = None) -> Daemon:
        """`notifier run -c CONFIG`, running until stopped."""
        process = await self._spawn(("run", "-c", str(config)), env)
        daemon = Daemon(process, self._transcript.channel(f"run #{len(self._daemons) + 1}"))
        self._daemons.append(daemon)
        return daemon

    async def _spawn(
        self, args: Sequence[str], env: Mapping[str, str] | None
    ) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "notifier",
            *args,
            cwd=self.cwd,
            env=child_environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def close(self) -> None:
        for daemon in self._daemons:
            await daemon.kill()


@pytest.fixture
async def notifier(tmp_path: Path, transcript: Transcript) -> AsyncIterator[Notifier]:
    runner = Notifier(tmp_path, transcript)
    try:
        yield runner
    finally:
        await runner.close()


# --- the peers: IPS simulator and SMTP sink -------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """An IPS with only the jobs the test adds, accepting DEFAULT_USER / IPS_PASSWORD."""
    simulator = Simulator(seed=11, password=IPS_PASSWORD, pacing=Pacing(jobs=0))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """A mail server that wants STARTTLS and AUTH (SMTP_USER / SMTP_PASSWORD)."""
    tls = make_tls_files(tmp_path)
    with SmtpSink(
        tls=SinkTls.STARTTLS, tls_files=tls, logins={SMTP_USER: SMTP_PASSWORD}
    ) as running:
        yield running


Sections = dict[str, dict[str, object]]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(sections: Sections) -> str:
    parts = []
    for section, values in sections.items():
        parts.append(f"[{section}]")
        parts.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        parts.append("")
    return "\n".join(parts)


@dataclass(slots=True)
class World:
    """The simulator, the sink and the directory the notifier runs in, with helpers."""

    sim: Simulator
    sink: SmtpSink
    dir: Path

    def sections(self, **overrides: dict[str, object]) -> Sections:
        """A complete configuration joining the simulator and the sink, fast polling."""
        sections: Sections = {
            "ips": {
                "url": self.sim.url,
                "user": DEFAULT_USER,
                "password": IPS_PASSWORD,
                "companies": [COMPANY],
                "timeout": 5,
            },
            "poll": {
                "interval": 0.2,
                "finish_confirm_polls": 2,
                "stall_after": 0,
                "progress_steps": [50],
                "max_backoff": 1,
            },
            "notify": {
                "events": ["queued", "started", "progress", "finished"],
                "outcome_grace": 10,
            },
            "smtp": {
                "host": self.sink.host,
                "port": self.sink.port,
                "security": "starttls",
                "user": SMTP_USER,
                "password": SMTP_PASSWORD,
                "ca_file": str(self.dir / "ca.pem"),
                "from": SENDER,
                "timeout": 5,
                "max_backoff": 1,
            },
            "store": {"path": "state.sqlite3"},
            "http": {"listen": "127.0.0.1:0"},
            "log": {"level": "info"},
        }
        for section, values in overrides.items():
            sections.setdefault(section, {}).update(values)
        return sections

    def config(
        self, name: str = "notifier.toml", *, tables: str = "", **overrides: dict[str, object]
    ) -> Path:
        """The configuration file; `tables`: TOML text appended ([[route]], [[webhook]])."""
        path = self.dir / name
        text = toml_text(self.sections(**overrides)) + tables
        path.write_text(text, encoding="utf-8")
        return path

    @property
    def store(self) -> Path:
        return self.dir / "state.sqlite3"

    def add_job(
        self,
        name: str,
        *,
        email: str,
        locale: str = "en-US",
        state: str = "Running",
        **fields: object,
    ) -> ActiveJob:
        return self.sim.add_job(
            company_handle=COMPANY,
            name=name,
            state=state,
            submit_user_email=email,
            locale=locale,
            **fields,
        )

    def mails(self) -> list[EmailMessage]:
        return [received.message for received in self.sink.messages]

    async def wait_for_mails(self, count: int, *, within: float = DEADLINE) -> list[EmailMessage]:
        await wait_until(
            lambda: len(self.sink.messages) >= count,
            f"{count} emails (got {len(self.sink.messages)})",
            within=within,
        )
        return self.mails()

    async def polls_pass(self, count: int = 1, *, within: float = DEADLINE) -> None:
        """Wait until IPS has answered `count` more requests than now.

        Poll rounds never overlap, so two more requests mean the round that was in flight
        has been committed and at least one whole round after it began.
        """
        target = self.sim.requests + count
        await wait_until(
            lambda: self.sim.requests >= target, f"{count} more IPS requests", within=within
        )


@pytest.fixture
async def world(sim: Simulator, sink: SmtpSink, tmp_path: Path) -> World:
    return World(sim, sink, tmp_path)
