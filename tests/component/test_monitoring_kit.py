"""The monitoring kit in deploy/: Prometheus alert rules that promtool accepts and whose unit
tests pass, and a Grafana dashboard that queries only metrics the daemon exports (or that
docs/DESIGN.md lists as coming).

promtool comes with Debian's prometheus package (`.ci/run` installs it); without it the
promtool tests are skipped, saying so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from notifier.metrics import Metrics
from tests.builders import COMING_METRICS

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "notifier-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "notifier-rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "notifier-dashboard.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)
METRIC = re.compile(r"\b(notifier_[a-z_]+|up)\b(?!\s*\()")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60
    )


@needs_promtool
def test_promtool_accepts_the_alert_rules() -> None:
    checked = _promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@needs_promtool
def test_the_alert_rules_fire_as_their_unit_tests_say() -> None:
    tested = _promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _exported() -> set[str]:
    """Every sample name the /metrics of a daemon with a webhook configured carries."""
    metrics = Metrics()
    metrics.add_webhooks(["ops"])
    text = metrics.render().decode()
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def _rule_expressions() -> list[str]:
    return [
        line.split("expr:", 1)[1]
        for line in RULES.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("expr:")
    ]


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _queried(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC.findall(expr)}


def test_the_kit_queries_only_metrics_that_are_exported_or_documented_as_coming() -> None:
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    for name in COMING_METRICS:
        assert name in design, f"{name} is queried as coming but docs/DESIGN.md does not list it"
    known = _exported() | set(COMING_METRICS) | {"up"}
    for source, expressions in (
        ("rules", _rule_expressions()),
        ("dashboard", _dashboard_expressions()),
    ):
        queried = _queried(expressions)
        assert queried, f"no metric found in the {source}"
        unknown = sorted(queried - known)
        assert not unknown, f"the {source} query metrics nobody exports: {unknown}"


def test_the_dashboard_shows_every_promised_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    queried = _queried(_dashboard_expressions())
    families = {
        re.sub(r"_(bucket|count|sum|total|created)$", "", name) for name in _exported()
    } | set(COMING_METRICS)
    shown = {re.sub(r"_(bucket|count|sum|total|created)$", "", name) for name in queried}
    assert families <= shown, f"no panel for {sorted(families - shown)}"


def test_the_alerts_cover_what_operators_must_hear_about() -> None:
    queried = _queried(_rule_expressions())
    for name in (
        "notifier_last_successful_poll_timestamp_seconds",
        "notifier_smtp_up",
        "notifier_webhook_up",
        "notifier_outbox_oldest_pending_age_seconds",
        "notifier_outbox_dead",
        "notifier_leader",
    ):
        assert name in queried, f"no alert rule on {name}"
