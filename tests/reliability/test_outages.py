"""Outages of each peer, through a real `notifier run`: nothing is lost, nothing is made up.

- SMTP down (connections refused and cut, through a TCP gate in front of the sink) for many
  retry rounds, then back: every email arrives soon after, once each.
- IPS answering faults (HTTP 500 and 200), 503, HTML, empty or truncated bodies, or hanging
  past ips.timeout, for many polls while jobs are active: not one `finished` is made up,
  and polling goes on at its pace once IPS answers again.
- IPS refusing the credentials: an ERROR line that says so, /readyz 503, no events; the
  job that finished meanwhile is mailed once the credentials work again.
- A read-only store (`chattr +i`: root ignores file modes, not the immutable flag): the
  daemon names the store in its log, /readyz says 503, and the email of the job that finished
  meanwhile arrives once the store is writable again. The full-disk case is in
  test_store_full.py (SqliteStore's max_pages, in-process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from notifier.sim import Fault, FaultKind
from tests.reliability.conftest import (
    COMPANY,
    DaemonProcess,
    Rig,
    TcpGate,
    metric,
    record_figure,
    wait_until,
)

IPS_FAULTS = (
    Fault(FaultKind.SOAP_FAULT),
    Fault(FaultKind.SOAP_FAULT, http_status=200),
    Fault(FaultKind.HTTP_503),
    Fault(FaultKind.HTML),
    Fault(FaultKind.EMPTY),
    Fault(FaultKind.TRUNCATED),
    Fault(FaultKind.HANG),
)


def label(fault: Fault) -> str:
    status = f" (HTTP {fault.http_status})" if fault.http_status else ""
    return f"{fault.kind.value}{status}"


async def counter(daemon: DaemonProcess, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return await metric(daemon, f"{name}{{{inner}}}" if inner else name) or 0.0


async def observed(daemon: DaemonProcess, jobs: int) -> None:
    async def listed() -> bool:
        return await metric(daemon, "notifier_active_jobs") == jobs

    await wait_until(listed, 30, f"the daemon to list {jobs} active jobs")


async def ready(daemon: DaemonProcess) -> int:
    return (await daemon.get("/readyz"))[0]


# -- SMTP -------------------------------------------------------------------------------------


async def smtp_outage(rig: Rig, jobs: int, retry_rounds: int) -> None:
    gate = TcpGate(rig.sink.port)
    await gate.open()
    daemon = await rig.started(rig.config(smtp={"port": gate.port}))
    handles = [rig.add_running_job(n)[1] for n in range(jobs)]
    await observed(daemon, jobs)
    await gate.close()
    down_at = time.monotonic()
    try:
        for handle in handles:
            rig.sim.finish_job(COMPANY, handle, "succeeded")

        async def retried() -> bool:
            return await counter(daemon, "notifier_emails_total", result="retry") >= (
                jobs * retry_rounds
            )

        await wait_until(retried, 30 + 3 * retry_rounds, f"{retry_rounds} retry rounds")
    finally:
        await gate.open()
    back_at = time.monotonic()
    received = await rig.sink.wait_for_messages(jobs, within=30)
    recovered = time.monotonic() - back_at
    assert await daemon.terminate() == 0
    await gate.close()
    ids = [m.message["Message-ID"] for m in rig.sink.messages]
    record_figure(
        f"SMTP outage: down {back_at - down_at:.1f} s ({retry_rounds}+ retry rounds of {jobs} "
        f"emails, smtp.max_backoff 2 s); all {len(received)} delivered {recovered:.1f} s after "
        f"it came back; duplicates {len(ids) - len(set(ids))}"
    )
    assert len(ids) == len(set(ids)) == jobs


async def test_smtp_outage_then_everything_delivered(rig: Rig) -> None:
    await smtp_outage(rig, jobs=8, retry_rounds=3)


@pytest.mark.soak
async def test_long_smtp_outage_then_everything_delivered(rig: Rig) -> None:
    await smtp_outage(rig, jobs=40, retry_rounds=30)


# -- IPS --------------------------------------------------------------------------------------


async def ips_faults(rig: Rig, failed_polls: int) -> None:
    daemon = await rig.started(
        rig.config(ips={"timeout": 0.5}, poll={"interval": 0.2, "max_backoff": 0.5})
    )
    handles = [rig.add_running_job(n)[1] for n in range(5)]
    await observed(daemon, 5)
    figures = []
    for fault in IPS_FAULTS:
        before = rig.sim.requests
        rig.sim.inject(fault, None)

        def served(target: int = before + failed_polls) -> bool:
            return rig.sim.requests >= target

        await wait_until(
            served,
            30 + failed_polls,
            f"{failed_polls} polls answered with {label(fault)}",
        )
        assert await counter(daemon, "notifier_events_total", kind="finished") == 0, label(fault)
        rig.sim.clear_faults()
        ok = await counter(daemon, "notifier_polls_total", result="ok")

        async def polls_again(ok: float = ok) -> bool:
            return await counter(daemon, "notifier_polls_total", result="ok") >= ok + 2

        await wait_until(polls_again, 15, f"polls to succeed again after {label(fault)}")
        figures.append(f"{label(fault)} x{rig.sim.requests - before}")
    assert await counter(daemon, "notifier_events_total", kind="finished") == 0
    assert rig.sink.messages == []
    rig.sim.finish_job(COMPANY, handles[0], "succeeded")
    (mail,) = await rig.sink.wait_for_messages(1, within=30)
    assert mail.message["X-IPS-Job-Handle"] == handles[0]
    assert await daemon.terminate() == 0
    record_figure(
        "IPS faults while 5 jobs were active: " + ", ".join(figures) + " requests; "
        "false finished: 0; polling resumed after each"
    )


async def test_ips_faults_make_up_no_completion(rig: Rig) -> None:
    await ips_faults(rig, failed_polls=3)


@pytest.mark.soak
async def test_ips_faults_for_many_polls_make_up_no_completion(rig: Rig) -> None:
    await ips_faults(rig, failed_polls=40)


async def test_refused_credentials_are_loud_and_lose_nothing(rig: Rig) -> None:
    daemon = await rig.started(rig.config(poll={"interval": 0.2, "max_backoff": 0.5}))
    handles = [rig.add_running_job(n)[1] for n in range(3)]
    await observed(daemon, 3)
    rig.sim.inject(Fault(FaultKind.BAD_CREDENTIALS), None)
    rig.sim.finish_job(COMPANY, handles[0], "succeeded")
    await wait_until(lambda: "credentials" in errors(daemon), 30, "an ERROR about credentials")

    async def unready() -> bool:
        return await ready(daemon) == 503

    await wait_until(unready, 30, "/readyz to answer 503")
    _, reason = await daemon.get("/readyz")
    assert "credentials" in reason
    assert await counter(daemon, "notifier_events_total", kind="finished") == 0
    assert rig.sink.messages == []
    rig.sim.clear_faults()
    (mail,) = await rig.sink.wait_for_messages(1, within=30)
    assert mail.message["X-IPS-Job-Handle"] == handles[0]

    async def ready_again() -> bool:
        return await ready(daemon) == 200

    await wait_until(ready_again, 30, "/readyz to answer 200 again")
    assert await daemon.terminate() == 0


def errors(daemon: DaemonProcess) -> str:
    return "\n".join(line for line in daemon.log().splitlines() if " ERROR " in line)


# -- the store --------------------------------------------------------------------------------


@contextmanager
def immutable(paths: list[Path]) -> Iterator[None]:
    """`chattr +i`: not even root may write, rename or create files there until undone."""
    existing = [p for p in paths if p.exists()]
    subprocess.run(["chattr", "+i", *map(str, existing)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, existing)], check=True)


def can_make_immutable(directory: Path) -> bool:
    if shutil.which("chattr") is None or os.geteuid() != 0:
        return False
    probe = directory / "probe"
    probe.touch()
    try:
        done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False)
        if done.returncode != 0:
            return False
        subprocess.run(["chattr", "-i", str(probe)], check=True)
        return True
    finally:
        probe.unlink()


async def test_read_only_store_stops_work_and_loses_nothing(rig: Rig) -> None:
    if not can_make_immutable(rig.tmp):
        pytest.skip("needs root and chattr on this file system (file modes do not bind root)")
    daemon = await rig.started()
    handles = [rig.add_running_job(n)[1] for n in range(3)]
    await observed(daemon, 3)
    store = rig.store
    # Not the -shm file: SQLite maps it into memory, and a page fault on an immutable
    # mapping is SIGBUS, which no program can answer; a full -shm is not how disks fail.
    files = [store.parent, store, Path(f"{store}-wal")]
    with immutable(files):
        rig.sim.finish_job(COMPANY, handles[0], "succeeded")
        await wait_until(
            lambda: str(store) in errors(daemon) or daemon.exited(),
            30,
            "an ERROR naming the store file",
        )

        async def unready() -> bool:
            return await ready(daemon) == 503

        await wait_until(unready, 30, "/readyz to answer 503")
        _, reason = await daemon.get("/readyz")
        assert "store" in reason
        assert not daemon.exited()
        assert rig.sink.messages == []
    (mail,) = await rig.sink.wait_for_messages(1, within=30)
    assert mail.message["X-IPS-Job-Handle"] == handles[0]
    assert await daemon.terminate() == 0
