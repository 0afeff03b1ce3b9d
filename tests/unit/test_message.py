"""The email as a mail client receives it: headers, threading, parts, charsets, no injection."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import unicodedata
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.mail.i18n import CATALOGS
from notifier.mail.message import MessageError, assemble, build_message
from notifier.mail.preview import sample_completion, sample_event
from notifier.mail.render import RenderedEmail

SENDER = "IPS Jobs <ips-jobs@example.com>"
RECIPIENT = "maria.rossi@example.com"
ZONE = "Europe/Paris"
TAGS = {
    "en": "en-US",
    "de": "de-DE",
    "es": "es-MX",
    "fr": "fr-FR",
    "it": "it-IT",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nl": "nl-NL",
    "pt_BR": "pt-BR",
    "sv": "sv-SE",
    "zh_Hans": "zh-CN",
    "zh_Hant": "zh-TW",
}


# The job's full locale, as Content-Language and the HTML's lang name it.
LANGUAGES = {tag: tag for tag in TAGS.values()} | {"zh-CN": "zh-Hans-CN", "zh-TW": "zh-Hant-TW"}
SENT = datetime(2026, 3, 16, 7, 30, 0, tzinfo=UTC)


def _received(
    event: Event, completion: Completion | None, **options: str
) -> tuple[bytes, EmailMessage]:
    raw = build_message(
        event, completion, sender=SENDER, timezone=ZONE, date=SENT, **options
    ).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def _parts(parsed: EmailMessage) -> tuple[str, str]:
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content_charset() == "utf-8"
    assert html.get_content_charset() == "utf-8"
    return text.get_content(), html.get_content()


def _failed(tag: str | None, **job_changes: object) -> tuple[Event, Completion]:
    event = sample_event(EventKind.FINISHED, tag)
    event = dataclasses.replace(event, job=dataclasses.replace(event.job, **job_changes))
    return event, sample_completion(Outcome.FAILED)


def test_catalog_table_covers_every_catalog() -> None:
    assert set(TAGS) == set(CATALOGS)


@pytest.mark.parametrize("catalog", CATALOGS)
def test_each_locale_reads_back_with_every_header_and_both_parts(catalog: str) -> None:
    event, completion = _failed(TAGS[catalog])
    raw, parsed = _received(event, completion)

    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert [address for _, address in getaddresses(parsed.get_all("To", []))] == [RECIPIENT]
    assert parsed["From"] == SENDER
    assert parsed["Content-Language"] == LANGUAGES[TAGS[catalog]]
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert parsed["X-IPS-Job-Event"] == "finished"
    assert parsed["X-IPS-Job-Outcome"] == "failed"
    assert parsed["X-IPS-Job-Handle"] == event.job.job_handle
    assert parsed["Message-ID"] == f"<{event.id}@example.com>"
    assert parsed["In-Reply-To"] == f"<run-{event.thread_id}@example.com>"
    assert parsed["References"] == parsed["In-Reply-To"]
    assert parsedate_to_datetime(parsed["Date"]) == SENT
    assert "Reply-To" not in parsed
    assert parsed.get_content_type() == "multipart/alternative"
    assert event.job.name in parsed["Subject"]

    text, html = _parts(parsed)
    assert event.job.start_date is not None
    started = format_datetime(
        event.job.start_date,
        "medium",
        tzinfo=ZoneInfo(ZONE),
        locale=TAGS[catalog].replace("-", "_"),
    ).replace("\u202f", "\u00a0")
    assert started in text
    assert str(escape(started)) in html
    assert f'lang="{LANGUAGES[TAGS[catalog]]}"' in html


@pytest.mark.parametrize("catalog", [name for name in CATALOGS if name != "en"])
def test_each_translation_differs_from_english(catalog: str) -> None:
    _, english = _received(*_failed("en"))
    _, local = _received(*_failed(TAGS[catalog]))
    assert local["Subject"] != english["Subject"]
    english_text, english_html = _parts(english)
    local_text, local_html = _parts(local)
    assert local_text.splitlines()[0] != english_text.splitlines()[0]
    assert len(set(local_text.splitlines()) & set(english_text.splitlines())) <= 4
    assert "What to do next" in english_html
    assert "What to do next" not in local_html


def test_a_missing_or_hostile_locale_gets_the_default_language() -> None:
    for tag in (None, "", "../../etc/passwd", "ja\r\nBcc: x@example.com"):
        _, parsed = _received(*_failed(tag))
        assert parsed["Content-Language"] == "en"
        assert parsed["Subject"].startswith("IPS job failed: ")


def test_every_email_of_one_job_run_threads_together_and_runs_do_not() -> None:
    started = sample_event(EventKind.STARTED, "en")
    stalled = sample_event(EventKind.STALLED, "en")
    next_run = dataclasses.replace(started, id="another-event-id", run=2)
    _, first = _received(started, None)
    _, second = _received(stalled, None)
    _, third = _received(next_run, None)
    assert first["References"] == second["References"] == second["In-Reply-To"]
    assert third["References"] != first["References"]
    assert first["Message-ID"] != second["Message-ID"]
    assert "X-IPS-Job-Outcome" not in first
    assert first["X-IPS-Job-Event"] == "started"


def test_the_same_event_builds_the_same_message_id_twice() -> None:
    event, completion = _failed("en")
    assert (
        _received(event, completion)[1]["Message-ID"]
        == _received(event, completion)[1]["Message-ID"]
    )


HOSTILE_NAMES = [
    "Evil\r\nBcc: victim@example.com\r\n\r\n<b>body</b>",
    "Evil\nTo: victim@example.com",
    "Long " + "x" * 10_000,
    "ctrl\x00\x07\x1b[31m\x7fname",
    "\u202eexe.gnp\u202c photos",
    "Launch 🎉 team 👩\u200d💻",
    "<script>alert('x')</script> & co",
    "Ünïcödé — 日本語ジョブ — ملف",
    "lone \ud800 surrogate \udfff",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_job_names_cannot_add_headers_or_recipients(name: str) -> None:
    event, completion = _failed("en", name=name, job_handle=f"47|{name}|", description=name)
    raw, parsed = _received(event, completion)

    assert raw.isascii()
    assert parsed["Bcc"] is None
    assert [address for _, address in getaddresses(parsed.get_all("To", []))] == [RECIPIENT]
    assert len(parsed.get_all("To", [])) == 1
    for header in ("Subject", "X-IPS-Job-Handle"):
        value = str(parsed[header])
        assert not any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in value), header
        assert "\u202e" not in value
        assert len(value) <= 220
    text, html = _parts(parsed)
    assert "<script>" not in html
    assert "\u202e" not in text + html
    assert "\x00" not in text + html


def test_script_tags_are_shown_as_text_not_run() -> None:
    event, completion = _failed("en", name="<script>alert('x')</script> & co")
    _, parsed = _received(event, completion)
    text, html = _parts(parsed)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html
    assert "<script>alert('x')</script> & co" in text
    assert "<script>alert('x')</script> & co" in parsed["Subject"]


def test_emoji_and_scripts_survive_intact() -> None:
    name = "Launch 🎉 team 👩\u200d💻 — 日本語ジョブ — ملف"
    _, parsed = _received(*_failed("en", name=name))
    text, html = _parts(parsed)
    assert name in parsed["Subject"]
    assert name in text
    assert f'<span dir="auto" style="font-weight:600;">{name}</span>' in html


def test_a_very_long_name_is_shortened_in_the_subject_only_sensibly() -> None:
    name = "Catalog " + "spring " * 2_000
    _, parsed = _received(*_failed("en", name=name))
    subject = str(parsed["Subject"])
    assert subject.startswith("IPS job failed: Catalog spring spring")
    assert subject.endswith("\u2026")
    assert len(subject) < 120
    text, _ = _parts(parsed)
    assert "Catalog spring" in text
    assert len(text) < 5_000


@pytest.mark.parametrize(
    "recipient", [None, "", "  ", "a@example.com\r\nBcc: b@example.com", "a@example.com\n"]
)
def test_a_missing_or_multi_line_recipient_is_refused(recipient: str | None) -> None:
    event, completion = _failed("en", submit_user_email=recipient)
    if recipient == "a@example.com\n":
        # Surrounding whitespace is trimmed, an embedded line break is not.
        message = build_message(event, completion, sender=SENDER)
        assert message.parsed()["To"] == "a@example.com"
        assert message.recipient == "a@example.com"
        return
    with pytest.raises(MessageError):
        build_message(event, completion, sender=SENDER)


def test_a_multi_line_sender_is_refused() -> None:
    event, completion = _failed("en")
    with pytest.raises(MessageError, match="sender"):
        build_message(event, completion, sender="a@example.com\r\nBcc: b@example.com")


def test_the_date_is_when_the_email_is_sent_not_when_the_event_happened() -> None:
    event, completion = _failed("en")
    before = datetime.now(UTC).replace(microsecond=0)
    raw = build_message(event, completion, sender=SENDER).as_bytes()
    after = datetime.now(UTC)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert before <= parsedate_to_datetime(parsed["Date"]) <= after
    naive = build_message(event, completion, sender=SENDER, date=datetime(2026, 3, 16, 7, 30))
    assert parsedate_to_datetime(naive.parsed()["Date"]) == SENT


def test_a_retry_later_keeps_its_message_id_but_carries_its_new_date() -> None:
    event, completion = _failed("en")
    first = build_message(event, completion, sender=SENDER, date=SENT)
    later = build_message(event, completion, sender=SENDER, date=SENT + timedelta(hours=30))
    assert first.message_id == later.message_id
    assert first.parsed()["Date"] != later.parsed()["Date"]


def test_the_message_id_has_a_full_domain_the_configured_one_first() -> None:
    event, completion = _failed("en")
    _, parsed = _received(event, completion, message_id_domain="mail.example.net")
    assert parsed["Message-ID"] == f"<{event.id}@mail.example.net>"
    assert parsed["References"] == f"<run-{event.thread_id}@mail.example.net>"


def test_reply_to_is_the_contact_named_in_the_footer() -> None:
    event, completion = _failed("de-DE")
    _, parsed = _received(event, completion, reply_to="DMC-Team <dmc-team@example.com>")
    assert [address for _, address in getaddresses(parsed.get_all("Reply-To", []))] == [
        "dmc-team@example.com"
    ]
    text, html = _parts(parsed)
    assert "dmc-team@example.com" in " ".join(text.split())
    assert "dmc-team@example.com" in html
    assert "nicht mehr erhalten" in " ".join(text.split())


def test_without_a_contact_the_footer_says_whom_to_ask_to_stop_the_emails() -> None:
    _, parsed = _received(*_failed("en"))
    text, _ = _parts(parsed)
    wanted = "To stop receiving these emails, ask your Dynamic Media Classic administrator."
    assert wanted in " ".join(text.split())


def test_a_dynamic_media_classic_address_becomes_a_link() -> None:
    url = "https://s7sps1.scene7.com/IpsWeb/"
    _, parsed = _received(*_failed("ja-JP"), dmc_url=url)
    text, html = _parts(parsed)
    assert f'href="{url}"' in html
    assert "Dynamic Media Classic を開く" in html
    assert url in text.splitlines()
    _, without = _received(*_failed("ja-JP"))
    assert "href=" not in _parts(without)[1]


_SCRIPTS = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    exclude_characters="\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u202f\u205f\u3000",
)


@settings(max_examples=300, deadline=None)
@given(
    subject=st.lists(
        st.sampled_from(
            ["夏季カタログ", "–", "商品画像", "Frühjahr", "catalog", "IPS", "작업", "：", "«"]
        )
        | st.text(alphabet=_SCRIPTS, min_size=1, max_size=12),
        min_size=1,
        max_size=14,
    ).map(" ".join)
)
def test_every_subject_reads_back_exactly_through_encoding_and_folding(subject: str) -> None:
    subject = " ".join(subject.split())
    assume(subject and "=?" not in subject)
    event, completion = _failed("en")
    rendered = RenderedEmail(catalog="en", subject=subject, text="x\n", html="<p>x</p>\n")
    raw = assemble(event, completion, rendered, sender=SENDER, to=RECIPIENT, date=SENT).data
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject


def test_a_japanese_subject_with_a_dash_between_spaces_keeps_both_spaces() -> None:
    name = "夏季カタログ – 商品画像"
    _, parsed = _received(*_failed("ja-JP", name=name, original_name=name))
    assert str(parsed["Subject"]) == f"IPS ジョブが失敗しました：{name}"


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(max_size=300),
    handle=st.text(max_size=100),
    locale=st.text(max_size=20),
)
def test_no_job_name_handle_or_locale_breaks_the_headers(
    name: str, handle: str, locale: str
) -> None:
    event, completion = _failed(locale, name=name, job_handle=handle, description=name)
    raw, parsed = _received(event, completion)
    assert raw.isascii()
    assert [address for _, address in getaddresses(parsed.get_all("To", []))] == [RECIPIENT]
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    for header in ("Subject", "X-IPS-Job-Handle"):
        value = str(parsed[header] or "")
        assert not any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in value)
    assert parsed.get_body(("html",)) is not None


@pytest.mark.parametrize(
    "name",
    [
        "=?utf-8?q?x=0D=0AReply-To:_attacker@evil.example?=",
        "=?utf-8?b?eA0KQmNjOiBhdHRhY2tlckBldmlsLmV4YW1wbGU=?=",
        "Sale =?iso-8859-1?q?=0ABcc:_x@evil.example?= images",
    ],
)
def test_an_encoded_word_in_a_job_name_cannot_add_a_header(name: str) -> None:
    sample = sample_event(EventKind.FINISHED, "en-US")
    event = dataclasses.replace(
        sample, job=dataclasses.replace(sample.job, name=name, job_handle=name)
    )
    raw = build_message(event, None, sender="IPS Jobs <ips@example.com>").as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Reply-To"] is None and parsed["Bcc"] is None
    header_names = [line.split(b":", 1)[0] for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")]
    assert b"Reply-To" not in header_names and b"Bcc" not in header_names
    assert "= ?" in str(parsed["Subject"])  # still shown, as plain text


@pytest.mark.parametrize(
    "sender", ["not an address", "a@example.com, b@example.com", "IPS Jobs <ips-jobs>", ""]
)
def test_a_sender_that_is_not_one_mailbox_is_refused(sender: str) -> None:
    event, completion = _failed("en")
    with pytest.raises(MessageError, match="sender"):
        build_message(event, completion, sender=sender)


def test_the_envelope_sender_is_the_from_mailbox_and_a_local_display_name_is_encoded() -> None:
    event, completion = _failed("de-DE")
    message = build_message(event, completion, sender="IPS-Aufträge <ips@example.com>")
    assert message.sender == "ips@example.com"
    assert message.data.isascii()
    assert message.parsed()["From"] == "IPS-Aufträge <ips@example.com>"


def test_an_internationalised_mailbox_is_written_as_utf8_for_smtputf8() -> None:
    event, completion = _failed("es-MX", submit_user_email="josé@example.com")
    message = build_message(event, completion, sender=SENDER)
    assert "To: josé@example.com\r\n".encode() in message.data
    assert message.parsed()["To"] == "josé@example.com"


def test_a_retry_at_the_same_moment_sends_the_very_same_bytes() -> None:
    event, completion = _failed("ja-JP")
    first = build_message(event, completion, sender=SENDER, timezone=ZONE, date=SENT)
    again = build_message(event, completion, sender=SENDER, timezone=ZONE, date=SENT)
    assert first.data == again.data


@settings(max_examples=80, deadline=None)
@given(name=st.text(min_size=1, max_size=200).filter(lambda s: s.strip() == s and s.isprintable()))
def test_any_printable_job_name_reads_back_unchanged_from_the_subject(name: str) -> None:
    assume("=?" not in name and "  " not in name)
    event, completion = _failed("en", name=name, original_name=name)
    raw, parsed = _received(event, completion)
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    subject = str(parsed["Subject"])
    assert subject.startswith("IPS job failed: ")
    shown = subject.removeprefix("IPS job failed: ")
    assert name.startswith(shown.removesuffix("\u2026"))


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=400),
    html=st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
)
def test_any_body_reads_back_exactly_in_both_transfer_encodings(text: str, html: str) -> None:
    event, completion = _failed("en")
    rendered = RenderedEmail(catalog="en", subject="IPS job failed", text=text, html=html)
    raw = assemble(event, completion, rendered, sender=SENDER, to=RECIPIENT).data
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    got_text, got_html = _parts(parsed)
    assert got_text.replace("\r\n", "\n") == _as_lines(text)
    assert got_html.replace("\r\n", "\n") == _as_lines(html)


def _as_lines(body: str) -> str:
    """What a body reads as after the trip: lines split as bytes are, ending in a newline."""
    return b"\n".join(body.encode("utf-8").splitlines()).decode("utf-8") + "\n"


def test_a_base64_part_carries_its_text_in_canonical_form_with_crlf_line_breaks() -> None:
    _, parsed = _received(*_failed("ja-JP"))
    text = parsed.get_body(("plain",))
    assert text is not None and text["Content-Transfer-Encoding"] == "base64"
    decoded = text.get_payload(decode=True)
    assert isinstance(decoded, bytes)
    assert decoded.count(b"\r\n") > 5
    assert decoded.count(b"\n") == decoded.count(b"\r\n")  # no bare line feeds (RFC 2045)
