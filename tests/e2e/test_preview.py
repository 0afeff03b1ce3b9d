"""`notifier preview`: a sample email in any language, without a configuration."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import Notifier


async def test_preview_of_a_failed_job_in_japanese(notifier: Notifier) -> None:
    result = await notifier.run(
        "preview", "--locale", "ja-JP", "--event", "finished", "--outcome", "failed"
    )
    assert result.returncode == 0, result.output
    assert "ジョブが失敗しました" in result.stdout
    assert "failed" not in result.stdout.lower()


async def test_preview_as_eml_is_a_complete_japanese_email(notifier: Notifier) -> None:
    result = await notifier.run(
        "preview",
        "--locale",
        "ja-JP",
        "--event",
        "finished",
        "--outcome",
        "failed",
        "--format",
        "eml",
    )
    assert result.returncode == 0, result.output
    message = email.message_from_string(result.stdout, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Content-Language"] == "ja-JP"
    assert str(message["Subject"]).startswith("IPS ジョブが失敗しました")
    assert message["X-IPS-Job-Outcome"] == "failed"
    assert message.get_body(("html",)) is not None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["--event", "exploded"], "queued, started", id="unknown event"),
        pytest.param(["--event", "finished", "--outcome", "meh"], "meh", id="unknown outcome"),
    ],
)
async def test_preview_of_something_that_does_not_exist_exits_2(
    notifier: Notifier, args: list[str], named: str
) -> None:
    result = await notifier.run("preview", "--locale", "ja-JP", *args)
    assert result.returncode == 2
    assert named in result.stderr
