"""`notifier demo`: the simulator, a local SMTP sink and the daemon, on free loopback ports.

Ten jobs in ten languages live their lives in under a minute; every email the daemon sends
is shown as it arrives and saved as an .eml file, and a table sums them up at the end.
Contacts nothing outside this machine; leaves nothing behind but the .eml files.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from notifier.config import (
    Config,
    HttpConfig,
    IpsConfig,
    LogConfig,
    LogLevel,
    NotifyConfig,
    PollConfig,
    Secret,
    SmtpConfig,
    StoreConfig,
)
from notifier.config.model import RouteConfig
from notifier.core.events import EventKind
from notifier.core.events import Outcome as EventOutcome
from notifier.daemon import Daemon
from notifier.logs import setup_logging
from notifier.sim import DEFAULT_PASSWORD, DEFAULT_USER, Outcome, Pacing, Simulator
from notifier.store.protocol import OWED
from notifier.wiring import open_parts

DEMO_LOCALES = (
    "en-US", "de-DE", "ja-JP", "fr-FR", "pt-BR", "zh-CN", "es-MX", "ko-KR", "it-IT", "zh-TW",
)  # fmt: skip
DEMO_NAMES = (
    "Spring catalog images", "Frühjahrskatalog Bilder", "春のカタログ画像", "Catalogue été",
    "Coleção verão fotos", "产品图片发布", "Catálogo otoño", "신제품 이미지", "Saldi invernali",
    "產品圖片上傳",
)  # fmt: skip
DEMO_TEAM = "dam-team@example.com"
"""The demo's route: failures and warnings also go to this team, in German."""

DEMO_OUTCOMES = (
    Outcome.SUCCEEDED, Outcome.FAILED, Outcome.WARNINGS, Outcome.SUCCEEDED, Outcome.STOPPED,
    Outcome.FATAL, Outcome.SUCCEEDED, Outcome.WARNINGS, Outcome.SUCCEEDED, Outcome.FAILED,
)  # fmt: skip
DEADLINE_TICKS = 60
"""Simulator ticks after which the demo ends even if a job is still going."""


@dataclass(frozen=True, slots=True)
class Received:
    recipient: str
    locale: str
    event: str
    outcome: str
    subject: str
    path: Path


class MailSink:
    """An aiosmtpd handler that saves each message as .eml and prints one line for it."""

    def __init__(self, folder: Path, started: float) -> None:
        self.folder = folder
        self.started = started
        self.received: list[Received] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        n = len(self.received) + 1
        event = str(message.get("X-IPS-Job-Event", "?"))
        locale = str(message.get("Content-Language", "?"))
        path = self.folder / f"{n:03d}-{event}-{locale}.eml"
        path.write_bytes(raw)
        item = Received(
            recipient=", ".join(str(r) for r in envelope.rcpt_tos),
            locale=locale,
            event=event,
            outcome=str(message.get("X-IPS-Job-Outcome", "")),
            subject=str(message.get("Subject", "")),
            path=path,
        )
        self.received.append(item)
        elapsed = time.monotonic() - self.started
        label = f"{event}/{item.outcome}" if item.outcome else event
        print(
            f"{elapsed:6.1f}s  mail to {item.recipient:<24} {locale:<8} {label:<18} {item.subject}"
        )
        return "250 Message accepted for delivery"


async def run_demo(out_dir: str = "demo-mail", seed: int = 7, tick: float = 1.2) -> int:
    """Run the demo; `tick` is the simulator's seconds per step (the whole story takes
    about 25 ticks). 0 when emails arrived, 1 when none did."""
    setup_logging("warning")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-session chatter
    folder = Path(out_dir)
    await asyncio.to_thread(_empty_folder, folder)
    started = time.monotonic()
    sink = MailSink(folder, started)
    loop = asyncio.get_running_loop()
    smtp_server = await loop.create_server(
        lambda: SMTP(sink, hostname="demo-sink.localhost"), "127.0.0.1", 0
    )
    smtp_port = smtp_server.sockets[0].getsockname()[1]
    pacing = Pacing(tick=tick, jobs=len(DEMO_LOCALES), run_ticks=(5, 12), stall_chance=0.0)
    sim = Simulator(seed=seed, pacing=pacing)
    try:
        await sim.start()
        _script_jobs(sim, pacing)
        print(f"IPS simulator: {sim.url}")
        print(f"SMTP sink:     127.0.0.1:{smtp_port} (emails saved in {folder}/)")
        print(f"{len(DEMO_LOCALES)} jobs in {len(DEMO_LOCALES)} languages are starting...\n")
        with tempfile.TemporaryDirectory(prefix="notifier-demo-") as tmp:
            config = _config(sim.url, smtp_port, Path(tmp) / "demo.sqlite3", tick)
            await _run_until_quiet(config, sim, started + DEADLINE_TICKS * tick)
    finally:
        await sim.stop()
        smtp_server.close()
        await smtp_server.wait_closed()
    _print_table(sink.received)
    print(f"\n{len(sink.received)} emails saved in {folder}/ (open them with any mail client)")
    return 0 if sink.received else 1


def _empty_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()


def _script_jobs(sim: Simulator, pacing: Pacing) -> None:
    """Give the spawned jobs one name and language each and a mix of outcomes; spawn no more.

    A renamed job gets the handle IPS would give that name, so every email's job handle
    (and its job log) is that of the job it tells about.
    """
    sim.engine.pacing = replace(pacing, jobs=0)
    for n, (key, plan) in enumerate(sorted(sim.engine.plans.items())):
        name = DEMO_NAMES[n % len(DEMO_NAMES)]
        job = sim.remove_job(*key)
        renamed = replace(
            job,
            job_handle=f"{job.company_handle}|{name}|",
            name=name,
            original_name=name,
            locale=DEMO_LOCALES[n % len(DEMO_LOCALES)],
        )
        sim.state.add_job(renamed)
        del sim.engine.plans[key]
        sim.engine.plans[(renamed.company_handle, renamed.job_handle)] = plan
        plan.outcome = DEMO_OUTCOMES[n % len(DEMO_OUTCOMES)]
        if n == 3:  # one job stalls for a while, to show the stalled email
            plan.stall_at, plan.stall_ticks = 2, 5


def _config(ips_url: str, smtp_port: int, store: Path, tick: float) -> Config:
    # Polls several times a tick; a stall (5 ticks, see _script_jobs) outlasts stall_after.
    return Config(
        ips=IpsConfig(url=ips_url, user=DEFAULT_USER, password=Secret(DEFAULT_PASSWORD)),
        smtp=SmtpConfig(sender="IPS Jobs <ips-jobs@example.com>", host="127.0.0.1", port=smtp_port),
        poll=PollConfig(interval=tick * 0.4, finish_confirm_polls=2, stall_after=tick * 2.5),
        notify=NotifyConfig(
            events=(EventKind.STARTED, EventKind.STALLED, EventKind.STOPPING, EventKind.FINISHED),
            outcome_grace=tick * 8,
        ),
        store=StoreConfig(path=store),
        http=HttpConfig(listen=""),
        log=LogConfig(level=LogLevel.WARNING),
        # A team hears of the jobs that went wrong, in its own language, beside the submitters.
        routes=(
            RouteConfig(
                to=(DEMO_TEAM,),
                locale="de",
                events=(EventKind.FINISHED,),
                outcomes=(EventOutcome.FAILED, EventOutcome.WARNINGS),
            ),
        ),
    )


async def _run_until_quiet(config: Config, sim: Simulator, deadline: float) -> None:
    async with open_parts(config) as parts:
        daemon = Daemon(parts)
        running = asyncio.create_task(daemon.run())
        try:
            while time.monotonic() < deadline and not running.done():
                await asyncio.sleep(0.5)
                if sim.state.jobs or parts.poller.state.jobs:
                    continue
                counts = await parts.store.counts()
                if not any(n for (_, status), n in counts.items() if status in OWED):
                    break
        finally:
            daemon.stop.set()
            await running


def _print_table(received: list[Received]) -> None:
    header = ("RECIPIENT", "LOCALE", "EVENT", "OUTCOME", "SUBJECT")
    rows: list[tuple[Any, ...]] = [header] + [
        (r.recipient, r.locale, r.event, r.outcome or "-", r.subject) for r in received
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
    print()
    for row in rows:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))
