"""docs/BENCHMARKS.md from the figures of one `bench/run.py` run.

Owns the table (what, peer, ratio, goal, met), the machine description and the notes on each
benchmark that was profiled (the cause found, what fixed it, what is left for a missed goal).
Never measures anything.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Figures = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    what: str
    peer: str
    figure: str
    goal: str
    met: bool


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "CPU": cpu_model(),
        "Cores": str(os.cpu_count()),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "System": f"{platform.system()} {platform.release()}",
        "Load average at start (1, 5, 15 min)": load,
    }


def parse_rows(f: Figures) -> list[Row]:
    what = f"Parse a {f['jobs']:,}-job getActiveJobs response ({f['body_bytes'] / 1e6:.1f} MB)"
    return [
        Row(what, "zeep (same schema)", f"zeep/ours = {f['zeep_over_ours']:.1f}x", ">= 10x",
            f["zeep_over_ours"] >= 10),
        Row(what, "bare lxml.etree.fromstring", f"ours/lxml = {f['ours_over_lxml']:.2f}x",
            "<= 2.5x", f["ours_over_lxml"] <= 2.5),
    ]  # fmt: skip


def diff_rows(f: Figures) -> list[Row]:
    what = f"Diff + commit {f['jobs']:,} jobs, {f['changed_jobs']} changed (CPU)"
    rows = [
        Row(what, "(absolute)", f"{f['diff_plus_commit_ms']:.1f} ms", "< 50 ms",
            f["diff_plus_commit_ms"] < 50),
        Row(what, "rewrite-everything commit", f"naive/ours = {f['naive_over_commit']:.1f}x",
            ">= 10x", f["naive_over_commit"] >= 10),
    ]  # fmt: skip
    if "pg_commit_wall_ms" not in f:
        return rows
    return [*rows, Row(
        f"Diff + commit {f['jobs']:,} jobs, {f['changed_jobs']} changed: PostgreSQL beside "
        "SQLite (wall)",
        f"SqliteStore, synchronous = FULL, same rounds; PostgreSQL fsync = {f['pg_fsync']}, "
        f"synchronous_commit = {f['pg_synchronous_commit']}",
        f"PG/SQLite = {f['pg_over_sqlite_diff_plus_commit_wall']:.2f}x "
        f"({f['pg_diff_plus_commit_wall_ms']:.1f} vs {f['sqlite_diff_plus_commit_wall_ms']:.1f}"
        f" ms; commit alone {f['pg_commit_wall_ms']:.1f} vs {f['sqlite_commit_wall_ms']:.1f} ms"
        f" = {f['pg_over_sqlite_commit_wall']:.2f}x)",
        "(information)", True,
    )]  # fmt: skip


def burst_rows(f: Figures) -> list[Row]:
    what = f"Burst: {f['jobs']:,} jobs finish at once, until the last email is accepted"
    return [
        Row(
            what,
            f"raw aiosmtplib `send_message`, prebuilt EmailMessages, "
            f"{f['connections']} connections",
            f"{f['daemon_over_raw_rate']:.2f} of the raw rate "
            f"({f['daemon_per_s']:.0f} vs {f['raw_per_s']:.0f} emails/s)",
            ">= 0.7",
            f["daemon_over_raw_rate"] >= 0.7,
        ),
        Row(
            what,
            "raw aiosmtplib `sendmail`, the daemon's own prebuilt bytes (SMTP only)",
            f"{f['daemon_over_bytes_rate']:.2f} of that rate "
            f"({f['daemon_per_s']:.0f} vs {f['bytes_per_s']:.0f} emails/s)",
            "(information)",
            True,
        ),
    ]


def replicas_rows(f: Figures) -> list[Row]:
    what = (
        f"Burst: {f['jobs']:,} jobs finish at once, two `notifier run` replicas on one "
        "PostgreSQL, both delivering"
    )

    def burst(name: str) -> str:
        sent = " + ".join(f"{n:,}" for n in f[f"{name}_sent_by_replica"])
        return (
            f"{f[f'{name}_per_s']:.0f} emails/s, sent {sent}, {f[f'{name}_lost']} lost, "
            f"{f[f'{name}_duplicates']} duplicates"
        )

    shares = all(n > 0 for n in f["pg_two_sent_by_replica"])
    clean = all(f[f"{n}_lost"] == 0 and f[f"{n}_duplicates"] == 0 for n in ("sqlite", "pg_two"))
    return [
        Row(what, "one `notifier run` on SQLite, same sink, same run",
            f"PG two/SQLite one = {f['pg_two_over_sqlite_rate']:.2f} (PG: {burst('pg_two')}; "
            f"SQLite: {burst('sqlite')})",
            "0 lost, 0 duplicates, each replica a share", clean and shares),
        Row(what, "one `notifier run` on the same PostgreSQL server",
            f"PG two/PG one = {f['pg_two_over_pg_one_rate']:.2f}; PG one/SQLite one = "
            f"{f['pg_one_over_sqlite_rate']:.2f} ({f['pg_one_per_s']:.0f} emails/s)",
            "(information)", True),
    ]  # fmt: skip


def outcomes_rows(f: Figures) -> list[Row]:
    return [
        Row(
            f"Outcomes of {f['jobs']:,} finished jobs recorded at once (`set_completions`, wall)",
            "SqliteStore, same events and deliveries",
            f"PG/SQLite = {f['postgres_over_sqlite']:.1f}x ({f['postgres_ms']:,.0f} vs "
            f"{f['sqlite_ms']:,.0f} ms)",
            "(information)",
            True,
        )
    ]


def digest_rows(f: Figures) -> list[Row]:
    what = (
        f"Digest: {f['jobs']:,} jobs of one recipient finish at once, `after = {f['after']}`, "
        f"`window = {f['window_s']:g}` s"
    )
    return [
        Row(
            what,
            "(absolute)",
            f"{f['emails']} emails, the digest listing {f['digest_listed']:,} jobs",
            f"<= {f['after'] + 2} emails, one listing all {f['jobs']:,}",
            f["emails"] <= f["after"] + 2 and f["digest_listed"] == f["jobs"],
        ),
        Row(
            what,
            "the window itself",
            f"digest accepted {f['to_digest_s']:.2f} s after the poll, "
            f"{f['beyond_window_s']:.2f} s beyond the window (first email at "
            f"{f['first_email_s']:.2f} s)",
            "(information)",
            True,
        ),
    ]


def webhook_rows(f: Figures) -> list[Row]:
    what = f"Webhook: {f['jobs']:,} jobs finish at once, one `json` POST each, signed"
    peer = f"raw aiohttp POSTs of prebuilt bodies and headers, {f['connections']} connections"
    return [
        Row(what, peer,
            f"{f['daemon_over_raw_rate']:.2f} of the raw rate from the poll "
            f"({f['daemon_per_s']:.0f} vs {f['raw_per_s']:.0f} POSTs/s)",
            "(information)", True),
        Row(what, peer,
            f"{f['posting_over_raw_rate']:.2f} from the first POST to the last "
            f"({f['posting_per_s']:.0f} POSTs/s)",
            "(information)", True),
    ]  # fmt: skip


def latency_rows(f: Figures) -> list[Row]:
    return [
        Row(
            f"Latency: {f['jobs']} jobs change at random; from the poll that saw it to acceptance",
            "(absolute)",
            f"p99 {f['p99_ms']:.0f} ms (p50 {f['p50_ms']:.0f}, max {f['max_ms']:.0f})",
            "p99 < 250 ms",
            f["p99_ms"] < 250,
        )
    ]


def render_rows(f: Figures) -> list[Row]:
    what = f"Render emails across the {f['catalogs']} catalogs"
    peer = "plain Jinja2, identity gettext, preformatted values"
    return [
        Row(f"{what}: render_bodies", peer,
            f"{f['ours_over_plain']:.2f} ({f['ours_per_s']:,} vs {f['plain_per_s']:,}/s)",
            ">= 0.5", f["ours_over_plain"] >= 0.5),
        Row(f"{what}: build_message (with MIME)", peer,
            f"{f['mime_over_plain']:.2f} ({f['mime_per_s']:,} vs {f['plain_per_s']:,}/s)",
            "(information)", True),
    ]  # fmt: skip


def footprint_rows(f: Figures) -> list[Row]:
    what = (
        f"Idle `notifier run`, {f['jobs']} jobs, poll every {f['poll_interval_s']:.0f} s, "
        f"{f['watched_s'] / 60:.1f} min"
    )
    return [
        Row(what, "(absolute)", f"RSS {f['peak_rss_mb']:.1f} MB", "< 60 MB",
            f["peak_rss_mb"] < 60),
        Row(what, "(absolute)", f"CPU {f['cpu_percent']:.3f} % of one core", "< 0.5 %",
            f["cpu_percent"] < 0.5),
    ]  # fmt: skip


def scale_rows(f: Figures) -> list[Row]:
    sizes = f["sizes"]
    span = f"{sizes[0]['jobs']:,} to {sizes[-1]['jobs']:,} jobs"
    return [
        Row(f"One poll (parse + diff + commit), 1 % changed, {span}", "itself at 1,000 jobs",
            f"per-job cost {f['later_per_job_ratio']:.2f}x", "about 1x (linear)",
            f["later_per_job_ratio"] <= 1.5),
        Row(f"First poll (every job new), {span}", "itself at 1,000 jobs",
            f"per-job cost {f['first_per_job_ratio']:.2f}x", "about 1x (linear)",
            f["first_per_job_ratio"] <= 1.5),
        Row("Largest snapshot within a 1 s poll (extrapolated)", "-",
            f"about {f['largest_in_1s_jobs']:,} jobs", "(information)", True),
    ]  # fmt: skip


ROWS: dict[str, Callable[[Figures], list[Row]]] = {
    "parse": parse_rows,
    "diff": diff_rows,
    "burst": burst_rows,
    "replicas": replicas_rows,
    "outcomes": outcomes_rows,
    "digest": digest_rows,
    "webhook": webhook_rows,
    "latency": latency_rows,
    "render": render_rows,
    "footprint": footprint_rows,
    "scale": scale_rows,
}


def rows_of(name: str, figures: Figures) -> list[Row]:
    return ROWS[name](figures)


def _table(rows: list[Row]) -> list[str]:
    lines = ["| What | Peer | Measured | Goal | Met |", "|---|---|---|---|---|"]
    for row in rows:
        met = "yes" if row.met else "**no**"
        lines.append(f"| {row.what} | {row.peer} | {row.figure} | {row.goal} | {met} |")
    return lines


def _details(results: dict[str, Figures | str]) -> list[str]:
    lines = ["## Figures", ""]
    for name, figures in results.items():
        lines.append(f"### {name}")
        lines.append("")
        if isinstance(figures, str):
            lines += ["Did not run:", "", "```", figures.strip(), "```", ""]
            continue
        lines.append("```")
        for key, value in figures.items():
            if key == "sizes":
                for size in value:
                    lines.append(f"sizes: {_plain(size)}")
            elif isinstance(value, list):
                lines.append(f"{key}: {', '.join(_plain(v) for v in value)}")
            else:
                lines.append(f"{key}: {_plain(value)}")
        lines += ["```", ""]
    return lines


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def markdown(
    results: dict[str, Figures | str],
    host: dict[str, str],
    started: datetime,
    seconds: float,
    intro: str,
    findings: dict[str, str],
    rerun: str,
) -> str:
    rows: list[Row] = []
    missed: list[str] = []
    for name, figures in results.items():
        if isinstance(figures, str):
            continue
        found = rows_of(name, figures)
        rows += found
        if not all(row.met for row in found):
            missed.append(name)
    lines = ["# Benchmarks", "", intro.strip(), ""]
    lines += [
        f"Run on {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {seconds / 60:.1f} minutes in all.",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in host.items()]
    lines += ["", "## Results", "", *_table(rows), ""]
    noted = [
        n for n, f in results.items() if not isinstance(f, str) and (n in findings or n in missed)
    ]
    if noted:
        lines += ["## What the profiles found: causes, fixes, and what is left", ""]
        for name in noted:
            state = "goal missed" if name in missed else "goals met"
            text = findings.get(name, "Not profiled yet.").strip()
            lines += [f"### {name} ({state})", "", text, ""]
    lines += ["## How to rerun", "", rerun.strip("\n"), "", *_details(results)]
    return "\n".join(lines).rstrip() + "\n"
