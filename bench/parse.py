"""Benchmark: parsing realistic getActiveJobs answers of 10,000 and 100,000 jobs.

The answers are written by the simulator's serialiser in the 2014-04-03 shape: every job with
its job-detail element (the kinds rotate; 12 of 14 hold an emailSetting) and its task
progress (a running job's task names the item in work). Each parser runs in a fresh
subprocess of its own, which reports its best time and its peak memory:
  ours     notifier.ips parse: the body read from a file in 64 KiB chunks into the incremental
           parser, as the client feeds it from the socket; the list of ActiveJobs kept
  ours-dropped  the same, each job dropped once read: the parser's own working memory
  before   today's parser before this change (bench/parse_before.py, a copy): the whole
           body in memory, one tree; it reads no task progress nor job detail
  zeep     zeep's SOAP binding `process_reply`, given the full 2014-04-03 ActiveJob schema
           (bench/IpsApi-2014-04-03-activejobs.wsdl)
  lxml     bare `lxml.etree.fromstring` of the whole body (builds the tree, nothing else)
Memory is the peak resident set (VmHWM, reset through /proc/self/clear_refs after start-up)
above the resident set just before the body is read: tracemalloc cannot see libxml2's
allocations, RSS can. Time is the best of several calls after an untimed one (zeep at
100,000 jobs: one call). `run()` returns the figures for bench/run.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NS = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
WSDL = Path(__file__).with_name("IpsApi-2014-04-03-activejobs.wsdl")
SIZES = (10_000, 100_000)
PARSERS = ("ours", "ours-dropped", "before", "zeep", "lxml")
CHUNK = 64 * 1024
_TYPES = (
    "ImageServingPublish", "ImageRenderingPublish", "VideoPublish", "ServerDirectoryPublish",
    "UrlUpload", "UploadFromServerDirectory", "ImageOptimization", "Cleanup",
    "Export", "MetadataPublish", "RipPdfs", "UploadPost", "CreateVideoSitemap",
    "AutomatedSetGeneration",
)  # fmt: skip
_STATES = ("Running",) * 7 + ("New", "WaitingCoordinator", "Stopping")


def response_body(jobs: int = 10_000, companies: int = 20) -> bytes:
    """A getActiveJobs answer of the 2014-04-03 shape, as the simulator serves it."""
    from notifier.sim import Simulator
    from notifier.sim.soap import active_jobs_envelope

    sim = Simulator(jobs=0)
    handles = [str(100 + n) for n in range(companies)]
    for n in range(jobs):
        company = handles[n % companies]
        sim.add_job(
            company_handle=company,
            name=f"Bulk job {n}",
            type=_TYPES[n % len(_TYPES)],
            state=_STATES[n % len(_STATES)],
            progress=n % 100,
            progress_message=f"Processing {n % 100}%",
            total_size=(1 + n % 500) * 1_000_000,
            submit_user_email=f"user{n % 50}.{company}@example.com",
            locale=("en-US", "de-DE", "ja-JP", "fr-FR")[n % 4],
            description=f"Bulk job number {n}",
        )
    items = "".join(j.to_xml() for j in sim.state.jobs.values())
    return active_jobs_envelope(items, NS)


class _Reply:
    """The few attributes of a requests.Response that zeep's process_reply reads."""

    def __init__(self, body: bytes) -> None:
        self.status_code = 200
        self.content = body
        self.headers = {"Content-Type": "text/xml; charset=utf-8"}
        self.encoding = "utf-8"


def zeep_parser() -> Callable[[bytes], Any]:
    import zeep  # the peer measured; optional dependency of the bench only

    client = zeep.Client(str(WSDL))
    binding = client.service._binding
    operation = binding.get("getActiveJobs")

    def parse(body: bytes) -> Any:
        return binding.process_reply(client, operation, _Reply(body))

    return parse


# -- inside the measuring subprocess ------------------------------------------------------


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def _stream_file(path: Path, drop: bool) -> int:
    from notifier.ips.parse import active_jobs_stream  # imported before the baseline

    stream = active_jobs_stream(max_bytes=2**40)
    if drop:  # the parser alone: each job read and forgotten
        read = stream._read_item
        count = [0]

        def forget(position: int, element: Any) -> None:
            if read(position, element) is not None:
                count[0] += 1

        stream._read_item = forget
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            stream.feed(chunk)
    jobs = stream.close()
    return count[0] if drop else len(jobs)


def _whole_body_parser(name: str) -> Callable[[bytes], int]:
    if name == "before":
        from bench.parse_before import parse_active_jobs

        return lambda body: len(parse_active_jobs(body, max_bytes=len(body) + 1))
    if name == "zeep":
        parse = zeep_parser()
        return lambda body: len(parse(body))
    from lxml import etree

    parser = etree.XMLParser(huge_tree=True)
    return lambda body: len(etree.fromstring(body, parser)[0][0][0])


def measure(name: str, path: Path, repeat: int) -> dict[str, Any]:
    """One parser on one body file: best time, peak RSS above the start, jobs read."""
    import notifier.ips.parse  # noqa: F401 - loaded before the baseline and the clock

    work: Callable[[], int]
    if name.startswith("ours"):
        drop = name == "ours-dropped"

        def work() -> int:
            return _stream_file(path, drop)
    else:
        parse = _whole_body_parser(name)

        def work() -> int:
            return parse(path.read_bytes())  # the body is held whole, as before

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    baseline = _status("VmRSS")
    jobs = 0
    best = float("inf")
    for n in range(repeat + (1 if repeat > 1 else 0)):
        gc.collect()
        start = time.perf_counter()
        jobs = work()
        elapsed = time.perf_counter() - start
        if n > 0 or repeat == 1:
            best = min(best, elapsed)
    return {"jobs": jobs, "best_s": best, "peak_bytes": _status("VmHWM") - baseline}


# -- the driver ---------------------------------------------------------------------------


def _in_subprocess(name: str, path: Path, repeat: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", name, "--body", str(path)]
    done = subprocess.run(
        [*command, "--repeat", str(repeat)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_size(jobs: int, repeat: int, zeep_repeat: int, directory: Path) -> dict[str, Any]:
    path = directory / f"answer-{jobs}.xml"
    body = response_body(jobs)
    path.write_bytes(body)
    del body
    row: dict[str, Any] = {"jobs": jobs, "body_bytes": path.stat().st_size}
    for name in PARSERS:
        figures = _in_subprocess(name, path, zeep_repeat if name == "zeep" else repeat)
        if figures["jobs"] != jobs:
            raise RuntimeError(f"{name} read {figures['jobs']} of {jobs} jobs")
        row[name] = figures
    path.unlink()
    return row


def run(
    jobs: int = SIZES[0],
    repeat: int = 3,
    zeep_repeat: int = 2,
    sizes: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """Every parser at every size; the top-level figures are those of the first size."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes or (SIZES if jobs == SIZES[0] else (jobs,)):
            big = size >= 100_000
            rows.append(run_size(size, repeat, 1 if big else zeep_repeat, Path(tmp)))
    first = rows[0]
    ours, zeep, lxml = (first[n]["best_s"] for n in ("ours", "zeep", "lxml"))
    return {
        "jobs": first["jobs"],
        "body_bytes": first["body_bytes"],
        "ours_s": ours,
        "zeep_s": zeep,
        "lxml_s": lxml,
        "zeep_over_ours": zeep / ours,
        "ours_over_lxml": ours / lxml,
        "sizes": rows,
    }


def table(figures: dict[str, Any]) -> str:
    lines = [
        "| jobs | answer | parser | best time | per job | peak memory | per job |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in figures["sizes"]:
        n = row["jobs"]
        for name in PARSERS:
            f = row[name]
            lines.append(
                f"| {n:,} | {row['body_bytes'] / 1e6:.0f} MB | {name} | {f['best_s']:.2f} s | "
                f"{f['best_s'] / n * 1e6:.1f} µs | {f['peak_bytes'] / 2**20:.1f} MiB | "
                f"{f['peak_bytes'] / n / 1024:.2f} KiB |"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", choices=PARSERS)
    parser.add_argument("--body", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.body, args.repeat)))
        return 0
    figures = run(sizes=SIZES)
    print(table(figures))
    print(f"zeep / ours = {figures['zeep_over_ours']:.1f}x at {figures['jobs']:,} jobs")
    print(f"ours / lxml = {figures['ours_over_lxml']:.2f}x at {figures['jobs']:,} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
