"""Every benchmark runs end to end at a toy size, and its figures make a BENCHMARKS page.

Not a performance test: nothing here asserts a time. It keeps `make bench` from rotting
between the runs that matter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench import (
    burst,
    diff,
    digest_burst,
    findings,
    footprint,
    latency,
    outcomes,
    parse,
    render,
    replicas,
    report,
    scale,
    webhook,
)
from tests import postgres


def test_parse_compares_the_same_jobs_with_zeep_and_lxml() -> None:
    figures = parse.run(jobs=20, repeat=1, zeep_repeat=1)
    assert figures["jobs"] == 20
    assert figures["zeep_over_ours"] > 0 and figures["ours_over_lxml"] > 0


def test_diff_benchmark_runs_on_a_small_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff, "JOBS", 200)
    monkeypatch.setattr(diff, "CHANGED", 2)
    monkeypatch.setattr(diff, "ROUNDS", 2)
    figures = diff.run(postgres=False)
    assert figures["jobs"] == 200 and figures["events_per_round"] > 0


def test_diff_benchmark_commits_the_same_rounds_to_postgresql_beside_sqlite(
    monkeypatch: pytest.MonkeyPatch, postgres_cluster: postgres.Cluster
) -> None:
    monkeypatch.setattr(diff, "JOBS", 200)
    monkeypatch.setattr(diff, "CHANGED", 2)
    monkeypatch.setattr(diff, "ROUNDS", 2)
    figures = diff.run(postgres_cluster)
    assert figures["pg_commit_wall_ms"] > 0 and figures["sqlite_commit_wall_ms"] > 0
    (row,) = [r for r in report.rows_of("diff", figures) if "PostgreSQL beside SQLite" in r.what]
    assert f"synchronous_commit = {figures['pg_synchronous_commit']}" in row.peer


def test_every_finished_job_of_a_burst_is_mailed_and_timed() -> None:
    figures = burst.run(jobs=20)
    assert figures["daemon_s"] > 0 and figures["raw_s"] > 0 and figures["bytes_s"] > 0
    assert figures["daemon_from_finish_s"] >= figures["daemon_s"]


def test_a_burst_reaches_the_sink_once_from_two_replicas_on_postgresql_and_from_sqlite(
    postgres_cluster: postgres.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replicas, "LEADER_LEASE", 1.0)  # a new leader waits one lease
    figures = replicas.run(jobs=12, cluster=postgres_cluster)
    for setup in ("sqlite", "pg_two", "pg_one"):
        assert figures[f"{setup}_lost"] == 0 and figures[f"{setup}_duplicates"] == 0
        assert sum(figures[f"{setup}_sent_by_replica"]) == 12
        assert 0 < figures[f"{setup}_first_email_s"] <= figures[f"{setup}_s"]
    assert figures["pg_two_server_commits"] > 0 and "server" in figures["pg_two_cpu_s"]
    assert figures["pg_two_leader_by_replica"].count(True) == 1
    assert len(report.rows_of("replicas", figures)) == 2


def test_the_outcomes_of_a_burst_are_recorded_on_postgresql_and_on_sqlite(
    postgres_cluster: postgres.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outcomes, "ROUNDS", 1)
    figures = outcomes.run(jobs=20, cluster=postgres_cluster)
    assert figures["waiting"] == 20
    assert figures["sqlite_ms"] > 0 and figures["postgres_ms"] > 0
    assert "PG/SQLite" in report.rows_of("outcomes", figures)[0].figure


def test_a_burst_of_one_recipient_arrives_as_after_singles_and_one_digest_of_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(digest_burst, "WINDOW_S", 1.0)
    figures = digest_burst.run(jobs=12)
    assert figures["emails"] == figures["after"] + 1
    assert figures["digest_listed"] == 12
    assert figures["to_digest_s"] >= figures["window_s"] > 0
    assert all(row.met for row in report.rows_of("digest", figures))


def test_every_finished_job_of_a_burst_is_posted_to_the_webhook_and_timed() -> None:
    figures = webhook.run(jobs=20)
    assert figures["daemon_s"] >= figures["daemon_posting_s"] >= 0
    assert figures["raw_s"] > 0 and figures["posting_per_s"] > 0
    assert len(report.rows_of("webhook", figures)) == 2


def test_each_changed_job_gets_one_email_whose_latency_is_measured() -> None:
    figures = latency.run(jobs=12, spread=1.0, interval=0.1)
    assert figures["jobs"] == 12
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]


def test_render_covers_every_shipped_catalog() -> None:
    figures = render.run(seconds=0.05)
    assert figures["catalogs"] == 12
    assert figures["plain_per_s"] > 0 and figures["ours_per_s"] > 0


def test_scale_reports_a_per_job_cost_for_each_size() -> None:
    figures = scale.run(sizes=(40, 80))
    assert [row["jobs"] for row in figures["sizes"]] == [40, 80]
    assert figures["largest_in_1s_jobs"] > 0


def test_footprint_watches_a_real_daemon_process() -> None:
    figures = footprint.run(jobs=5, interval=0.2, duration=0.5)
    assert figures["polls"] >= 1
    assert 10 < figures["peak_rss_mb"] < 1000


def test_the_page_has_a_row_per_goal_and_explains_what_was_missed() -> None:
    results: dict[str, dict[str, Any] | str] = {
        "render": {
            "catalogs": 12, "samples": 72, "plain_per_s": 100, "ours_per_s": 10,
            "mime_per_s": 5, "ours_over_plain": 0.1, "mime_over_plain": 0.05,
        },
        "latency": "Traceback: the sink did not start",
    }  # fmt: skip
    page = report.markdown(
        results,
        report.machine(),
        datetime(2026, 11, 25, tzinfo=UTC),
        60.0,
        findings.INTRO,
        findings.FINDINGS,
        findings.RERUN,
    )
    assert "| Render emails across the 12 catalogs: render_bodies |" in page
    assert "| **no** |" in page
    assert findings.FINDINGS["render"].strip().splitlines()[0] in page
    assert "the sink did not start" in page
    assert "make bench" in page
