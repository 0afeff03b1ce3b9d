"""`notifier preview`: every sample renders without configuration; bad choices say what is valid."""

from __future__ import annotations

import email
import email.policy

import pytest

from notifier.core.events import EventKind, Outcome
from notifier.mail.preview import FORMATS, preview

KINDS_AND_OUTCOMES = [(kind.value, None) for kind in EventKind if kind is not EventKind.FINISHED]
KINDS_AND_OUTCOMES += [("finished", outcome.value) for outcome in Outcome]


@pytest.mark.parametrize(("kind", "outcome"), KINDS_AND_OUTCOMES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_sample_renders_in_every_format(kind: str, outcome: str | None, fmt: str) -> None:
    rendered = preview(kind, outcome, "en-US", fmt)
    assert "Spring catalog 2026 – product images" in rendered or fmt == "eml"
    if fmt == "html":
        assert rendered.startswith("<!DOCTYPE html>")
    if fmt == "eml":
        parsed = email.message_from_string(rendered, policy=email.policy.default)
        assert parsed["X-IPS-Job-Event"] == kind
        assert "Spring catalog 2026 – product images" in parsed["Subject"]


def test_a_japanese_sample_is_in_japanese() -> None:
    text = preview("finished", "failed", "ja-JP", "text")
    assert text.startswith("ジョブが失敗しました\n")
    assert "35 件のファイルを処理できませんでした。" in "".join(text.splitlines())


def test_finished_without_outcome_shows_a_success() -> None:
    assert preview("finished", None, "en", "text").startswith("Your job completed successfully")


def test_the_eml_names_the_jobs_locale_and_formats_for_its_region() -> None:
    parsed = email.message_from_string(
        preview("stalled", None, "pt-PT", "eml"), policy=email.policy.default
    )
    assert parsed["Content-Language"] == "pt-PT"
    text = parsed.get_body(("plain",))
    assert isinstance(text, email.message.EmailMessage)
    assert "Seu trabalho" in text.get_content()  # the one Portuguese catalog
    assert "14/03/2026, 08:02:41" in text.get_content()  # Portugal's dates, not Brazil's


@pytest.mark.parametrize(
    ("kind", "outcome", "fmt", "message"),
    [
        ("exploded", None, "text", "unknown event 'exploded'; valid values: queued, started"),
        ("finished", "meh", "text", "unknown outcome 'meh'; valid values: succeeded, warnings"),
        ("finished", "failed", "pdf", "unknown format 'pdf'; valid formats: text, html, eml"),
        ("started", "failed", "text", "an outcome applies only to the finished event"),
    ],
)
def test_invalid_choices_name_the_valid_values(
    kind: str, outcome: str | None, fmt: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        preview(kind, outcome, "en", fmt)
