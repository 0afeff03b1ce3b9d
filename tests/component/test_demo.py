"""`notifier demo` as an operator sees it: localized emails saved as .eml, and a summary."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from notifier.demo import DEMO_TEAM, run_demo


async def test_demo_leaves_localized_emails_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo-mail"
    assert await run_demo(out_dir=str(out), tick=0.3) == 0

    messages = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(out.glob("*.eml"))
    ]
    languages = {str(m["Content-Language"]) for m in messages}
    outcomes = {str(m["X-IPS-Job-Outcome"]) for m in messages if m["X-IPS-Job-Outcome"]}
    finished = [m for m in messages if m["X-IPS-Job-Event"] == "finished"]
    to_team = [m for m in finished if m["To"] == DEMO_TEAM]
    assert len(languages) >= 6, languages
    assert {"succeeded", "failed", "warnings"} <= outcomes, outcomes
    assert len(finished) - len(to_team) == 10  # every demo job reports how it ended, once
    assert to_team, "the team route hears of what went wrong"
    assert {str(m["X-IPS-Job-Outcome"]) for m in to_team} <= {"failed", "warnings"}
    assert {str(m["Content-Language"]) for m in to_team} == {"de"}
    assert len({m["Message-ID"] for m in messages}) == len(messages)

    summary = capsys.readouterr().out
    assert "RECIPIENT" in summary and "OUTCOME" in summary
    assert f"{len(messages)} emails saved in {out}/" in summary
