"""`make bench`: every benchmark, one after the other, then docs/BENCHMARKS.md.

Each benchmark measures the notifier and its peer side by side in the same run and reports a
ratio (or, where a goal is absolute, the figure). A benchmark that fails is reported as not
run; the others still run. Exit status 0 when every benchmark ran (missed goals are reported,
not fatal; `--strict` makes them fatal), 1 otherwise.

    .venv/bin/python bench/run.py [--only NAME ...] [--footprint-seconds S] [--output FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# `python bench/run.py` puts bench/ first on the path, where its modules would shadow any
# top-level module of the same name: the checkout goes there instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if p and Path(p).resolve() != HERE)]

from bench import (  # noqa: E402
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

Bench = Callable[[argparse.Namespace], dict[str, Any]]

BENCHES: dict[str, Bench] = {
    "parse": lambda args: parse.run(),
    "diff": lambda args: diff.run(),
    "burst": lambda args: burst.run(),
    "replicas": lambda args: replicas.run(),
    "outcomes": lambda args: outcomes.run(),
    "digest": lambda args: digest_burst.run(),
    "webhook": lambda args: webhook.run(),
    "latency": lambda args: latency.run(),
    "render": lambda args: render.run(),
    "scale": lambda args: scale.run(),
    "footprint": lambda args: footprint.run(duration=args.footprint_seconds),
}


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), default=list(BENCHES))
    parser.add_argument("--footprint-seconds", type=float, default=180.0)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    host = report.machine()
    started, clock = datetime.now(UTC), time.monotonic()
    results: dict[str, dict[str, Any] | str] = {}
    for name in args.only:
        print(f"== {name}", flush=True)
        began = time.monotonic()
        try:
            figures = BENCHES[name](args)
        except Exception:
            results[name] = traceback.format_exc()
            print(results[name], file=sys.stderr)
            continue
        results[name] = figures
        for row in report.rows_of(name, figures):
            print(
                f"   {'met   ' if row.met else 'MISSED'} {row.what}: {row.figure} (goal {row.goal})"
            )
        print(f"   ({time.monotonic() - began:.0f} s)", flush=True)
    text = report.markdown(
        results,
        host,
        started,
        time.monotonic() - clock,
        findings.INTRO,
        findings.FINDINGS,
        findings.RERUN,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    crashed = [name for name, figures in results.items() if isinstance(figures, str)]
    missed = [
        name
        for name, figures in results.items()
        if not isinstance(figures, str) and not all(r.met for r in report.rows_of(name, figures))
    ]
    if crashed:
        print(f"did not run: {', '.join(crashed)}", file=sys.stderr)
    if missed:
        print(f"goals missed: {', '.join(missed)} (see {args.output})")
    return 1 if crashed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
