"""The digest email as a mail client reads it: subject and plurals, language, headers, parts."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

import pytest

from notifier.core.events import EventKind, Outcome
from notifier.delivery.channel import Item
from notifier.mail.digest import build_digest, digest_message_id, localized_digest
from notifier.mail.digest_summary import ADVICE, digest_catalog, subject, summarize
from notifier.mail.i18n import translations
from tests.held_items import T0, burst, held

SENDER = "IPS Jobs <ips-jobs@example.com>"
TO = "dam-team@example.com"
SENT = T0 + timedelta(minutes=10)


def received(items: list[Item], **options: str) -> tuple[bytes, EmailMessage, str, str]:
    raw = build_digest(items, digest_id="d1g35t", sender=SENDER, to=TO, date=SENT, **options)
    parsed = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    return raw.as_bytes(), parsed, text.get_content(), html.get_content()


def test_twelve_jobs_read_back_with_the_digest_headers_and_both_parts() -> None:
    raw, parsed, text, html = received(burst(failed=2, succeeded=10))
    assert parsed["Subject"] == "12 IPS jobs finished: 2 failed, 10 succeeded"
    assert parsed["X-IPS-Job-Event"] == "digest"
    assert parsed["X-IPS-Digest-Count"] == "12"
    assert parsed["Message-ID"] == digest_message_id("d1g35t", "example.com")
    assert parsed["Message-ID"] == "<digest-d1g35t@example.com>"
    assert parsed["In-Reply-To"] is None and parsed["X-IPS-Job-Outcome"] is None
    assert parsed["Content-Language"] == "en"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert parsedate_to_datetime(parsed["Date"]) == SENT
    assert "Reply-To" not in parsed
    assert parsed["To"] == TO and parsed["From"] == SENDER
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 78
    for n in range(12):
        assert f"Job {n:02d}" in text and f"Job {n:02d}" in html


def test_failures_come_first_with_what_to_do() -> None:
    items = burst(failed=2, succeeded=10)
    failed = [i.event.job.name for i in items if i.completion and i.completion.outcome == "failed"]
    _, _, text, html = received(items)
    for body in (text, html):
        first_success = min(
            body.index(f"Job {n:02d}") for n in range(12) if f"Job {n:02d}" not in failed
        )
        assert all(body.index(name) < first_success for name in failed)
        assert body.index("Failed") < body.index("What to do next") < first_success
        assert ADVICE["failed"][0] in " ".join(body.split())
    assert "Dec 1, 2026, 9:00:00\u00a0AM" in text  # every job with its time


def test_one_job_run_is_listed_once_by_its_latest_event() -> None:
    items = [
        held("Spring", EventKind.STARTED, None, minute=0),
        held("Spring", EventKind.FINISHED, Outcome.FAILED, minute=5),
        held("Autumn", EventKind.STARTED, None, minute=1),
        held("Winter", EventKind.PROGRESS, None, minute=2),
    ]
    _, parsed, text, _ = received(items)
    assert parsed["X-IPS-Digest-Count"] == "3"
    assert parsed["Subject"] == "Updates on 3 IPS jobs: 1 failed, 2 running"
    assert text.count("Spring") == 1
    assert "Winter · Dec 1, 2026, 9:02:00\u00a0AM · 50% complete" in text


@pytest.mark.parametrize(
    ("locale", "subject_line", "words"),
    [
        ("de-DE", "12 IPS-Jobs beendet: 2 fehlgeschlagen, 10 erfolgreich", "Nächste Schritte"),
        # (a header carries the no-break space before the colon as a plain one)
        ("fr-FR", "12 tâches IPS achevées : 2 en échec, 10 réussies", "Prochaines étapes"),
        ("ja-JP", "IPS ジョブ 12 件が終了しました：失敗 2 件、成功 10 件", "次のステップ"),
    ],
)
def test_the_digest_speaks_the_jobs_language(locale: str, subject_line: str, words: str) -> None:
    _, parsed, text, html = received(burst(failed=2, succeeded=10, locale=locale))
    assert parsed["Subject"] == subject_line
    assert parsed["Content-Language"] == locale[:2]
    assert words in text and words in html
    assert f'<html lang="{locale[:2]}"' in html


@pytest.mark.parametrize(
    ("catalog", "counts", "expected"),
    [
        ("en", [("failed", 1)], "1 IPS job finished: 1 failed"),
        ("fr", [("succeeded", 1)], "1 tâche IPS achevée\xa0: 1 réussie"),
        (
            "fr",
            [("failed", 1), ("succeeded", 1)],
            "2 tâches IPS achevées\xa0: 1 en échec, 1 réussie",
        ),
        (
            "fr",
            [("succeeded", 1_000_000)],
            "1\u00a0000\u00a0000 de tâches IPS achevées\xa0: 1\u00a0000\u00a0000 réussies",
        ),
        ("de", [("stopped", 1)], "1 IPS-Job beendet: 1 angehalten"),
        (
            "de",
            [("running", 2), ("queued", 1)],
            "Neuigkeiten zu 3 IPS-Jobs: 2 laufen, 1 in der Warteschlange",
        ),
        ("ja", [("warnings", 3)], "IPS ジョブ 3 件が終了しました：警告あり 3 件"),
    ],
)
def test_subject_counts_take_each_languages_plural_forms(
    catalog: str, counts: list[tuple[str, int]], expected: str
) -> None:
    finished = all(group not in {"running", "queued"} for group, _ in counts)
    assert subject(catalog, counts, all_finished=finished) == expected


def test_the_most_frequent_job_locale_wins_and_a_route_locale_overrides_it() -> None:
    items = [
        held("A", locale="de-DE"),
        held("B", locale="fr-FR", minute=1),
        held("C", locale="fr-CA", minute=2),
    ]
    assert digest_catalog(items, None, "en") == "fr"
    assert digest_catalog(items[:2], None, "en") == "de"  # a tie: the earliest job's
    assert digest_catalog(items, "ja", "en") == "ja"
    assert digest_catalog([held("D", locale="xx-hostile/../")], None, "sv") == "sv"
    _, parsed, _, _ = received(items, locale="ja")
    assert parsed["Content-Language"] == "ja"


def test_job_names_are_escaped_in_html_and_cannot_add_headers() -> None:
    items = [held("<b>Sale</b>\r\nBcc: x@evil.example", minute=0), held("Plain", minute=1)]
    raw, parsed, text, html = received(items)
    assert "<b>Sale</b>" not in html and "&lt;b&gt;Sale&lt;/b&gt;" in html
    assert parsed["Bcc"] is None and b"\r\nBcc:" not in raw
    assert "<b>Sale</b> Bcc: x@evil.example" in text


def test_the_advice_of_the_digest_is_the_advice_of_the_single_emails() -> None:
    # The digest's advice reuses the templates' msgids: each one is translated.
    for lines in ADVICE.values():
        for line in lines:
            assert translations("de").gettext(line) != line


def test_an_empty_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        summarize([])


@dataclass(frozen=True)
class Settings:
    sender: str = SENDER
    default_locale: str = "en"
    timezone: str = "Europe/Berlin"
    reply_to: str = "DMC-Team <dmc-team@example.com>"
    dmc_url: str = "https://s7sps1.scene7.com/IpsWeb/"
    message_id_domain: str = "mail.example.net"


def test_the_email_channels_builder_dates_the_digest_when_it_is_built() -> None:
    items = burst(failed=1, succeeded=4, locale="de-DE")
    before = datetime.now(UTC).replace(microsecond=0)
    first = localized_digest(items, digest_id="abc", to=TO, locale=None, settings=Settings())
    again = localized_digest(items, digest_id="abc", to=TO, locale=None, settings=Settings())
    after = datetime.now(UTC)
    assert first.message_id == again.message_id == "<digest-abc@mail.example.net>"
    parsed = first.parsed()
    assert before <= parsedate_to_datetime(parsed["Date"]) <= after
    assert parsed["Message-ID"] == "<digest-abc@mail.example.net>"
    text = parsed.get_body(("plain",))
    assert text is not None and "Mitteleuropäische" in text.get_content()


def test_a_retry_at_the_same_moment_sends_the_very_same_bytes() -> None:
    items = burst(failed=2, succeeded=3, locale="ja-JP")
    first = build_digest(items, digest_id="abc", sender=SENDER, to=TO, date=SENT)
    again = build_digest(items, digest_id="abc", sender=SENDER, to=TO, date=SENT)
    assert first.data == again.data


def test_the_digest_names_the_contact_and_links_to_dynamic_media_classic() -> None:
    url = "https://s7sps1.scene7.com/IpsWeb/"
    options = {"reply_to": "DMC-Team <dmc-team@example.com>", "dmc_url": url}
    _, parsed, text, html = received(burst(failed=1, succeeded=2, locale="de-DE"), **options)
    assert [address for _, address in getaddresses(parsed.get_all("Reply-To", []))] == [
        "dmc-team@example.com"
    ]
    assert "dmc-team@example.com" in " ".join(text.split())
    assert 'href="mailto:dmc-team@example.com"' in html
    assert url in text.splitlines() and f'href="{url}"' in html
    assert "nicht mehr erhalten" in " ".join(text.split())


def test_without_a_contact_the_digest_says_whom_to_ask_to_stop_the_emails() -> None:
    _, _, text, html = received(burst(failed=1, succeeded=2))
    wanted = "To stop receiving these emails, ask your Dynamic Media Classic administrator."
    assert wanted in " ".join(text.split()) and wanted in html
    assert "href=" not in html


def test_the_text_part_of_a_digest_keeps_to_72_columns() -> None:
    items = [held("Frühjahrskatalog 2027 " * 4, EventKind.FINISHED, Outcome.FAILED)]
    _, _, text, _ = received(items + burst(failed=1, succeeded=2))
    assert max(len(line) for line in text.splitlines()) <= 72
