"""A job's life as its submitter sees it: one email per event, in the job's language, threaded."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

from babel.messages.pofile import read_po

from notifier.sim import Outcome
from tests.e2e.conftest import COMPANY, Notifier, World

LOCALES = Path(str(resources.files("notifier.locales")))
EVENTS = ["queued", "started", "progress", "finished"]


@dataclass(frozen=True, slots=True)
class Case:
    locale: str  # the job's locale in IPS
    catalog: str  # the catalog it negotiates to
    content_language: str
    name: str
    email: str
    outcome: Outcome


CASES = (
    Case("ja-JP", "ja", "ja-JP", "春のカタログ 2026", "hanako@example.jp", Outcome.SUCCEEDED),
    Case("de-DE", "de", "de-DE", "Frühjahrskatalog – Bilder", "jana@example.de", Outcome.FAILED),
    Case("pt-BR", "pt_BR", "pt-BR", "Catálogo de verão", "joao@example.com.br", Outcome.WARNINGS),
)

SUBJECTS = {
    "queued": "IPS job queued: %(name)s",
    "started": "IPS job started: %(name)s",
    "progress": "IPS job %(percent)s complete: %(name)s",
    "succeeded": "IPS job completed successfully: %(name)s",
    "warnings": "IPS job completed with warnings: %(name)s",
    "failed": "IPS job failed: %(name)s",
}


def subject_pattern(catalog: str, status: str, name: str) -> re.Pattern[str]:
    """The translated subject from the shipped catalog, with the name and any percentage."""
    with (LOCALES / catalog / "LC_MESSAGES" / "notifier.po").open("rb") as handle:
        translated = read_po(handle).get(SUBJECTS[status])
    assert translated is not None and translated.string, f"{catalog} lacks {status}"
    pieces = re.split(r"(%\(\w+\)s)", str(translated.string))
    regex = "".join(
        re.escape(name) if p == "%(name)s" else ".+" if p == "%(percent)s" else re.escape(p)
        for p in pieces
    )
    return re.compile(regex)


async def test_each_event_mails_the_submitter_once_in_the_jobs_language_and_threaded(
    world: World, notifier: Notifier
) -> None:
    daemon = await notifier.start(world.config())
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)  # the first poll, which records silently, is behind us

    handles = {
        case.locale: world.add_job(
            case.name, email=case.email, locale=case.locale, state="New"
        ).job_handle
        for case in CASES
    }
    await world.wait_for_mails(3)
    for handle in handles.values():
        world.sim.update_job(COMPANY, handle, state="Running", progress=5)
    await world.wait_for_mails(6)
    for handle in handles.values():
        world.sim.update_job(COMPANY, handle, progress=60)
    await world.wait_for_mails(9)
    for case in CASES:
        world.sim.finish_job(COMPANY, handles[case.locale], case.outcome)
    await world.wait_for_mails(12)
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    mails = world.mails()
    assert len(mails) == 12, [m["Subject"] for m in mails]
    by_job: dict[str, list[EmailMessage]] = defaultdict(list)
    for mail in mails:
        by_job[str(mail["X-IPS-Job-Handle"])].append(mail)
    assert set(by_job) == set(handles.values())
    for case in CASES:
        check_thread(case, by_job[handles[case.locale]])
    roots = {str(thread[0]["References"]) for thread in by_job.values()}
    assert len(roots) == 3, "each job run is its own thread"


def check_thread(case: Case, mails: list[EmailMessage]) -> None:
    assert [m["X-IPS-Job-Event"] for m in mails] == EVENTS
    assert len({m["Message-ID"] for m in mails}) == 4
    assert len({m["References"] for m in mails}) == 1
    assert {m["In-Reply-To"] for m in mails} == {mails[0]["References"]}
    for mail, event in zip(mails, EVENTS, strict=True):
        status = case.outcome.value if event == "finished" else event
        assert mail["To"] == case.email
        assert mail["Content-Language"] == case.content_language
        assert mail["Auto-Submitted"] == "auto-generated"
        assert subject_pattern(case.catalog, status, case.name).fullmatch(str(mail["Subject"]))
        if event == "finished":
            assert mail["X-IPS-Job-Outcome"] == case.outcome.value
        else:
            assert mail["X-IPS-Job-Outcome"] is None
        text = mail.get_body(("plain",))
        html = mail.get_body(("html",))
        assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
        assert case.name in text.get_content()
