"""Two `notifier run` on one PostgreSQL, and the leader cut off from it by a partition (tests/
partition.py: bytes stop both ways, nothing is closed): the cut-off leader stops polling IPS
before its successor starts, the successor takes over within the bound of leadership.py,
nothing is lost, and once the network heals the old leader stands by and does not poll.

Each replica reaches PostgreSQL through a line of its own (a `Partition`) and IPS through a
tap of its own (an `IpsTap`): which replica polled (getActiveJobs), and when, is the taps'
record. Only the replica that polls asks for job logs (getJobLogs) too: every replica
delivers, but outcomes are the leader's to resolve.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psycopg
import pytest

from notifier.sim import Outcome
from notifier.store.postgres.leadership import Lease
from tests import postgres
from tests.e2e.conftest import COMPANY, Daemon, Notifier, World
from tests.e2e.test_replicas import IN_FLIGHT, INTERVAL, LEASE, message_ids_by_job, readyz
from tests.partition import IpsTap, Partition, Statement
from tests.waiting import wait_until

PROMISE = Lease(LEASE).takeover_after_cutoff
"""From the last statement the server got from the cut-off leader (at the latest, the cut) to
its successor's first poll: L + L/4 + L (leadership.py)."""
SLACK = 3.0
"""Beyond the promise: one more try of the lock and a connect, loading the state and the
first request, on a busy 2-core box."""
JOBS = 3
CLAIMS_RUN_OUT = LEASE + 10
"""Seconds until what the cut-off replica had claimed is sent by the other: the claim lease
(`store.leader_lease`, no longer renewed across the cut), and some."""


class Where(StrEnum):
    """Where in the leader's work the cut falls."""

    ANYWHERE = "anywhere"
    """Whenever the test gets there: mostly between two commits."""
    INSIDE_A_COMMIT = "inside a commit"
    """Once the commit's `SELECT term ... FOR SHARE` (check_term) has reached the server: the
    transaction stays open there, holding the row its successor's new term must update."""


def partition_config(world: World, name: str, store_url: str, ips_url: str) -> Path:
    """As test_replicas.replica_config, with the store and IPS reached through the given URLs."""
    return world.config(
        name,
        ips={"url": ips_url},
        store={"url": store_url, "leader_lease": LEASE, "path": f"{name}.sqlite3"},
        poll={"interval": INTERVAL},
        notify={"events": ["finished"], "outcome_grace": 1},
        smtp={"max_connections": IN_FLIGHT, "timeout": 1},
    )


@dataclass(slots=True)
class Replica:
    daemon: Daemon
    line: Partition
    ips: IpsTap
    check_term: Statement
    """The commit's `SELECT term ... FOR SHARE`, as `line` sees it go by."""


@pytest.fixture
async def lines(postgres_db: postgres.Database) -> AsyncIterator[tuple[Partition, Partition]]:
    pair = (
        Partition(postgres_db.host, postgres_db.port),
        Partition(postgres_db.host, postgres_db.port),
    )
    for line in pair:
        await line.start()
    try:
        yield pair
    finally:
        for line in pair:
            await line.stop()


@pytest.fixture
async def taps(world: World) -> AsyncIterator[tuple[IpsTap, IpsTap]]:
    pair = (IpsTap(world.sim.url), IpsTap(world.sim.url))
    for tap in pair:
        await tap.start()
    try:
        yield pair
    finally:
        for tap in pair:
            await tap.stop()


@pytest.fixture
async def replicas(
    world: World,
    notifier: Notifier,
    postgres_db: postgres.Database,
    lines: tuple[Partition, Partition],
    taps: tuple[IpsTap, IpsTap],
) -> tuple[Replica, Replica]:
    """Both running, the first leading (it starts first), the second standing by."""
    env = {"NOTIFIER_STORE_PASSWORD": postgres_db.password}
    started: list[Replica] = []
    for name, line, tap in zip(("a.toml", "b.toml"), lines, taps, strict=True):
        check_term = line.watch(b"FOR SHARE")
        url = postgres_db.url.replace(f":{postgres_db.port}/", f":{line.port}/")
        daemon = await notifier.start(partition_config(world, name, url, tap.url), env=env)
        await daemon.wait_for_log("this replica polls" if not started else "notifier running")
        started.append(Replica(daemon, line, tap, check_term))
    await wait_until(lambda: "standby" in started[1].daemon.log, "the second to stand by")
    assert (await readyz(started[1].daemon)).startswith("standby")
    return started[0], started[1]


def new_jobs(world: World, label: str, count: int = JOBS) -> list[str]:
    return [
        world.add_job(f"{label} {n}", email=f"{label.lower()}{n}@example.com").job_handle
        for n in range(count)
    ]


def finish(world: World, handles: list[str]) -> None:
    for handle in handles:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)


async def mailed(world: World, handles: list[str], *, within: float = 30) -> None:
    wanted = set(handles)
    await wait_until(
        lambda: wanted <= {str(m["X-IPS-Job-Handle"]) for m in world.mails()},
        f"emails for {len(wanted)} jobs",
        within=within,
    )


_OPEN_COMMITS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND state = 'idle in transaction' AND query LIKE '%FOR SHARE'"
)


async def open_commits(database: postgres.Database) -> int:
    """Sessions in the middle of a commit after its check_term, waiting for their client."""
    async with await psycopg.AsyncConnection.connect(database.conninfo) as conn:
        row = await (await conn.execute(_OPEN_COMMITS)).fetchone()
    return int(row[0]) if row else 0


async def cut_off(
    world: World, database: postgres.Database, leader: Replica, where: Where, during: list[str]
) -> float:
    """Cut the leader's line as the `during` jobs finish; return when (time.monotonic())."""
    line = leader.line
    if where is Where.INSIDE_A_COMMIT:
        line.cut_after(leader.check_term)
    else:
        line.cut()
    finish(world, during)  # a change: the leader's next round commits it
    await wait_until(lambda: line.is_cut, "the leader's next commit")
    if where is Where.INSIDE_A_COMMIT:
        assert await open_commits(database) == 1, "the cut left no commit open on the server"
    assert line.cut_at is not None
    return line.cut_at


@dataclass(frozen=True, slots=True)
class Takeover:
    """One partition as the taps saw it (time.monotonic() seconds)."""

    cut_at: float
    last_of_old: float
    first_of_new: float

    @property
    def gap(self) -> float:
        return self.first_of_new - self.last_of_old

    @property
    def taken_over(self) -> float:
        return self.first_of_new - self.cut_at

    @property
    def old_stopped(self) -> float:
        return self.last_of_old - self.cut_at


async def taken_over(cut_at: float, old: Replica, new: Replica) -> Takeover:
    """Once `new` polls IPS: no request of `old` after new's first, and the figures."""
    polled, led = len(new.ips.polls()), new.daemon.log.count("this replica polls")
    await wait_until(
        lambda: new.daemon.log.count("this replica polls") > led,
        "the successor to lead",
        within=PROMISE + 15,
    )
    await wait_until(lambda: len(new.ips.polls()) > polled, "the successor's first poll")
    first = new.ips.polls()[polled]
    before = [at for at in old.ips.polls() if at <= first]
    assert before, "the old leader never polled: the test proves nothing"
    after = [at for at in old.ips.polls() if at > first]
    assert not after, f"the cut-off leader asked IPS {len(after)} times after its successor began"
    return Takeover(cut_at, max(before), first)


def check_takeover(takeover: Takeover) -> None:
    assert takeover.gap > 0, "both replicas polled IPS at once"
    assert takeover.old_stopped <= LEASE + SLACK, "the cut-off leader polled past its lease"
    assert takeover.taken_over <= PROMISE + SLACK, f"took over {takeover.taken_over:.1f} s after"


async def heal_and_rejoin(old: Replica) -> float:
    """Heal the line; the seconds until the old leader says it stands by, as /readyz does."""
    back = old.daemon.log.count("connection is back; standing by")
    old.line.heal()
    healed_at = time.monotonic()
    await wait_until(
        lambda: old.daemon.log.count("connection is back; standing by") > back,
        "the old leader to rejoin as standby",
    )
    rejoined = time.monotonic() - healed_at
    assert (await readyz(old.daemon)).startswith("standby"), await readyz(old.daemon)
    return rejoined


def check_nothing_lost(world: World, handles: list[str], *, bound: int) -> int:
    """Every job emailed; repeats at most `bound`, each with its twin's Message-ID."""
    wanted = set(handles)
    ids_by_job = {h: ids for h, ids in message_ids_by_job(world).items() if h in wanted}
    assert set(ids_by_job) == wanted, "every finished job was emailed: nothing lost"
    repeats = sum(len(ids) - 1 for ids in ids_by_job.values())
    assert repeats <= bound, f"{repeats} repeats, more than the {bound} sends in flight"
    assert all(len(set(ids)) == 1 for ids in ids_by_job.values()), "a repeat has its twin's ID"
    return repeats


def lost_leadership(daemon: Daemon) -> list[str]:
    """What the replica said when it stopped polling."""
    return [line for line in daemon.lines if "no longer leader" in line]


@pytest.mark.parametrize("where", list(Where), ids=str)
async def test_a_leader_cut_off_from_postgresql_stops_polling_before_its_successor_starts(
    world: World, postgres_db: postgres.Database, replicas: tuple[Replica, Replica], where: Where
) -> None:
    leader, standby = replicas
    before, during, after = (new_jobs(world, label) for label in ("Before", "During", "After"))
    await world.polls_pass(3)
    finish(world, before)
    await mailed(world, before)
    assert not standby.ips.polls(), "the standby polled before any partition"
    asked = [r for r in standby.ips.requests if r.operation == "getJobLogs"]
    assert not asked, "the standby asked IPS for job logs: only the leader does"

    cut_at = await cut_off(world, postgres_db, leader, where, during)
    takeover = await taken_over(cut_at, leader, standby)
    check_takeover(takeover)
    await mailed(world, during)
    await wait_until(lambda: bool(lost_leadership(leader.daemon)), "the old leader's word")

    rejoined = await heal_and_rejoin(leader)
    finish(world, after)
    await mailed(world, after)
    await world.polls_pass(3)
    assert not [at for at in leader.ips.polls() if at > takeover.first_of_new], "it polled"
    assert "this replica polls" not in leader.daemon.log.split("no longer leader", 1)[1]

    repeats = check_nothing_lost(world, before + during + after, bound=IN_FLIGHT)
    (said,) = lost_leadership(leader.daemon)
    assert "this replica stops polling" in said, said
    print(
        f"partition ({where}): the cut-off leader's last poll {takeover.old_stopped:.2f} s "
        f"after the cut, its successor's first {takeover.taken_over:.2f} s after it (gap "
        f"{takeover.gap:.2f} s; bound {PROMISE:.2f} s), rejoined as standby {rejoined:.2f} s "
        f"after the heal; {3 * JOBS} of {3 * JOBS} mailed, lost 0, repeats {repeats}\n"
        f"  the old leader said: {said.split(': ', 1)[1]}"
    )
    assert await leader.daemon.stop() == 0
    assert await standby.daemon.stop() == 0


TRIALS = 6
BURST = 12


@pytest.mark.soak
async def test_partition_trials_cut_the_leader_off_again_and_again(
    world: World, postgres_db: postgres.Database, replicas: tuple[Replica, Replica]
) -> None:
    """TRIALS partitions in a row, each cutting off whichever replica leads then, in the
    middle of a burst of completions (sends in flight at the cut); anywhere and inside a
    commit in turn. Each heals once the successor has mailed what finished meanwhile."""
    leader, standby = replicas
    figures: list[tuple[Takeover, int]] = []
    for trial in range(TRIALS):
        where = list(Where)[trial % len(Where)]
        burst = new_jobs(world, f"Trial{trial}burst", BURST)
        during = new_jobs(world, f"Trial{trial}during")
        await world.polls_pass(3)
        sent_before = len(world.sink.messages)
        world.sink.set_delay(0.3)
        finish(world, burst)
        await world.wait_for_mails(sent_before + 2)
        cut_at = await cut_off(world, postgres_db, leader, where, during)
        takeover = await taken_over(cut_at, leader, standby)
        check_takeover(takeover)
        world.sink.set_delay(0)
        await mailed(world, during)
        await heal_and_rejoin(leader)
        await mailed(world, burst, within=CLAIMS_RUN_OUT)
        repeats = check_nothing_lost(world, burst + during, bound=IN_FLIGHT)
        figures.append((takeover, repeats))
        leader, standby = standby, leader
    takeovers = [t.taken_over for t, _ in figures]
    print(
        f"partition trials: {TRIALS} cuts, {TRIALS * (BURST + JOBS)} completions, lost 0, "
        f"repeats {sum(r for _, r in figures)} (at most {max(r for _, r in figures)} for one "
        f"cut; bound {IN_FLIGHT}), successor's first poll {min(takeovers):.2f}-"
        f"{max(takeovers):.2f} s after the cut (bound {PROMISE:.2f} s), smallest gap "
        f"{min(t.gap for t, _ in figures):.2f} s"
    )
