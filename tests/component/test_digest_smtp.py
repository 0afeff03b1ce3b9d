"""The digest email through the real SMTP sender to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from notifier.mail.digest import build_digest
from notifier.mail.sender import Mailer
from tests.held_items import T0, burst
from tests.smtp_sink import SmtpSink


async def test_a_japanese_digest_arrives_whole_with_its_headers() -> None:
    items = burst(failed=3, succeeded=27, locale="ja-JP")
    digest = build_digest(
        items, digest_id="0123abcd", sender="IPS <ips@example.com>", to="ken@example.jp", date=T0
    )
    with SmtpSink() as sink:
        mailer = Mailer(sink.host, sink.port, timeout=5.0)
        try:
            await mailer.send(digest)
        finally:
            await mailer.close()
        [received] = await sink.wait_for_messages(1)
    assert received.rcpt_tos == ("ken@example.jp",)
    message = received.message
    assert message["Subject"] == "IPS ジョブ 30 件が終了しました：失敗 3 件、成功 27 件"
    assert message["X-IPS-Job-Event"] == "digest" and message["X-IPS-Digest-Count"] == "30"
    assert message["Message-ID"] == "<digest-0123abcd@example.com>"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    assert "次のステップ" in text.get_content() and "次のステップ" in html.get_content()
    assert all(f"Job {n:02d}" in text.get_content() for n in range(30))
