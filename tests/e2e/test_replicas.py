"""Two `notifier run` on one PostgreSQL database (the private server of tests/postgres.py):
one polls, the other stands by; kill -9 of the leader mid-burst loses nothing, repeats are
bounded by the sends in flight and carry their twin's Message-ID; the survivor mails new
jobs; a restarted replica joins as standby."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
import psycopg
import pytest

from notifier.sim import Outcome
from tests import postgres
from tests.e2e.conftest import COMPANY, Daemon, Notifier, World
from tests.waiting import wait_until

LEASE = 2.0
"""store.leader_lease: takeover after a kill within 1.25 L (plus a connect)."""
INTERVAL = 0.2
IN_FLIGHT = 4
BURST = 24


def replica_config(world: World, database: postgres.Database, name: str) -> Path:
    return world.config(
        name,
        store={"url": database.url, "leader_lease": LEASE, "path": f"{name}.sqlite3"},
        poll={"interval": INTERVAL},
        notify={"events": ["finished"], "outcome_grace": 1},
        # Claims last one lease too (renewed while a replica runs), so a dead replica's
        # deliveries go to the survivor within a lease of its death.
        smtp={"max_connections": IN_FLIGHT, "timeout": 1},
    )


def message_ids_by_job(world: World) -> dict[str, list[str]]:
    """The Message-ID of every email the sink received, by the job it is about."""
    ids: dict[str, list[str]] = defaultdict(list)
    for mail in world.mails():
        ids[str(mail["X-IPS-Job-Handle"])].append(str(mail["Message-ID"]))
    return ids


async def readyz(daemon: Daemon) -> str:
    url = f"{await daemon.http_base()}/readyz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def leader_host(output: str) -> str:
    """The host part of the holder that check-config names ("leader: HOST pid N")."""
    line = next(line for line in output.splitlines() if "leader: " in line)
    return line.split("leader: ", 1)[1].split(" pid ", 1)[0]


async def leader_of(*daemons: Daemon) -> Daemon:
    await wait_until(
        lambda: any("this replica polls" in d.log for d in daemons), "a leader", within=30
    )
    (leader,) = [d for d in daemons if "this replica polls" in d.log]
    return leader


async def test_one_of_two_replicas_polls_and_the_other_takes_over_when_it_is_killed(
    world: World, notifier: Notifier, postgres_db: postgres.Database
) -> None:
    env = {"NOTIFIER_STORE_PASSWORD": postgres_db.password}
    a = await notifier.start(replica_config(world, postgres_db, "a.toml"), env=env)
    b = await notifier.start(replica_config(world, postgres_db, "b.toml"), env=env)
    for daemon in (a, b):
        await daemon.wait_for_log("notifier running")
    leader = await leader_of(a, b)
    standby = b if leader is a else a
    assert (await readyz(standby)).startswith("standby"), await readyz(standby)
    assert (await readyz(leader)).startswith("leader"), await readyz(leader)
    checked = await notifier.run("check-config", "--connect", "-c", "a.toml", env=env)
    assert f"leader: {leader_host(checked.output)}" in checked.output
    assert f"pid {leader.pid} (term" in checked.output, checked.output

    # The poll rate is that of one daemon: at most one request per interval (plus jitter).
    await world.polls_pass(3)
    start, counted = time.monotonic(), world.sim.requests
    await world.polls_pass(15)
    rate = (world.sim.requests - counted) / (time.monotonic() - start)
    assert rate <= 1.2 / INTERVAL, f"{rate:.1f} IPS requests a second: both replicas poll"

    handles = [
        world.add_job(f"Burst job {n}", email=f"user{n}@example.com").job_handle
        for n in range(BURST)
    ]
    await world.polls_pass(3)
    world.sink.set_delay(0.3)
    for handle in handles:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
    await world.wait_for_mails(2)
    await leader.kill()  # SIGKILL: no clean stop, no lock released by the process
    killed_at, before = time.monotonic(), len(world.sink.messages)
    assert before < BURST, "the kill came after the burst: the test proves nothing"

    polled_before = world.sim.requests
    await standby.wait_for_log("this replica polls", within=LEASE * 1.25 + 15)
    await world.polls_pass(1)
    taken_over = time.monotonic() - killed_at
    assert world.sim.requests > polled_before
    assert taken_over <= LEASE * 1.25 + 10, f"took over after {taken_over:.1f} s"

    world.sink.set_delay(0)
    await world.wait_for_mails(BURST, within=LEASE * 2 + 30)
    all_mailed = time.monotonic() - killed_at
    # The dead replica's claims ran out within a lease of the kill, then the survivor sent.
    assert all_mailed <= LEASE * 2 + 10, f"the burst was all mailed {all_mailed:.1f} s after"
    late = world.add_job("After the failover", email="late@example.com").job_handle
    await world.polls_pass(3)
    world.sim.finish_job(COMPANY, late, Outcome.SUCCEEDED)
    await wait_until(
        lambda: any(m["X-IPS-Job-Handle"] == late for m in world.mails()), "the new job's email"
    )

    ids_by_job = message_ids_by_job(world)
    assert set(handles) <= set(ids_by_job), "every finished job was emailed: nothing lost"
    repeats = sum(len(ids) - 1 for ids in ids_by_job.values())
    assert repeats <= IN_FLIGHT, f"{repeats} repeats, more than the {IN_FLIGHT} sends in flight"
    assert all(len(set(ids)) == 1 for ids in ids_by_job.values()), "a repeat has its twin's ID"
    print(
        f"failover: took over in {taken_over:.2f} s, all mailed {all_mailed:.2f} s after the "
        f"kill, {repeats} repeats, 0 lost of {BURST}"
    )

    again = await notifier.start(replica_config(world, postgres_db, "a.toml"), env=env)
    await again.wait_for_log("notifier running")
    await wait_until(lambda: "standing by" in again.log or "standby" in again.log, "standby")
    assert (await readyz(again)).startswith("standby"), await readyz(again)
    assert "this replica polls" not in again.log
    listed = await notifier.run("outbox", "list", "-c", "a.toml", env=env)
    statuses = {line.split()[1] for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert listed.returncode == 0 and statuses <= {"skipped"}, listed.output  # none owed
    assert await again.stop() == 0
    assert await standby.stop() == 0


async def test_a_replica_stopped_in_a_burst_gives_back_what_it_had_not_sent(
    world: World, notifier: Notifier, postgres_db: postgres.Database
) -> None:
    """SIGTERM (a restart, `systemctl stop`) of the replica holding a burst's claims: its
    sends in flight finish, and it exits having given the rest back, so the other replica
    sends them at once instead of after the claim lease; each email once."""
    env = {"NOTIFIER_STORE_PASSWORD": postgres_db.password}
    a = await notifier.start(replica_config(world, postgres_db, "a.toml"), env=env)
    b = await notifier.start(replica_config(world, postgres_db, "b.toml"), env=env)
    leader = await leader_of(a, b)
    other = b if leader is a else a
    handles = [
        world.add_job(f"Stop job {n}", email=f"stop{n}@example.com").job_handle
        for n in range(BURST)
    ]
    await world.polls_pass(3)
    world.sink.set_delay(0.3)
    for handle in handles:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
    await world.wait_for_mails(2)
    holders = {f"{socket.gethostname()} pid {d.pid}" for d in (a, b)}

    assert await leader.stop() == 0
    async with await psycopg.AsyncConnection.connect(postgres_db.conninfo) as conn:
        cursor = await conn.execute(
            "SELECT claimed_by, count(*) FROM deliveries WHERE status = 'pending'"
            " GROUP BY claimed_by"
        )
        owed = {holder: int(count) for holder, count in await cursor.fetchall()}
    stopped = f"{socket.gethostname()} pid {leader.pid}"
    assert sum(owed.values()) > 0, "the burst was all sent before the stop: it proves nothing"
    assert stopped not in owed, f"the stopped replica still holds {owed.get(stopped)} claims"
    assert set(owed) <= holders | {None}, owed
    assert "claimed deliveries to the other replicas" in leader.log

    world.sink.set_delay(0)
    await world.wait_for_mails(BURST, within=30)
    ids_by_job = message_ids_by_job(world)
    assert set(ids_by_job) == set(handles)
    assert all(len(ids) == 1 for ids in ids_by_job.values()), "a clean stop repeats nothing"
    assert await other.stop() == 0


async def test_replicas_reconnect_after_postgresql_restarts_and_lose_nothing(
    world: World, notifier: Notifier, private_postgres: postgres.Cluster
) -> None:
    database = private_postgres.create_database()
    env = {"NOTIFIER_STORE_PASSWORD": database.password}
    a = await notifier.start(replica_config(world, database, "a.toml"), env=env)
    b = await notifier.start(replica_config(world, database, "b.toml"), env=env)
    await leader_of(a, b)
    before = [world.add_job(f"Before {n}", email=f"b{n}@example.com").job_handle for n in range(3)]
    await world.polls_pass(3)
    for handle in before:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
    await world.wait_for_mails(3)

    await asyncio.to_thread(private_postgres.stop, "immediate")
    await wait_until(
        lambda: any("no longer leader" in d.log for d in (a, b)), "the leader to step down"
    )
    during = [world.add_job(f"During {n}", email=f"d{n}@example.com").job_handle for n in range(3)]
    await asyncio.to_thread(private_postgres.start)
    await wait_until(
        lambda: sum(d.log.count("this replica polls") for d in (a, b)) >= 2,
        "a leader again after the restart",
        within=60,
    )
    await world.polls_pass(3)
    for handle in during:
        world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
    await world.wait_for_mails(6, within=60)

    by_job = message_ids_by_job(world)
    assert set(by_job) == set(before) | set(during), "nothing lost across the restart"
    assert all(len(ids) == 1 for ids in by_job.values()), by_job
    assert sum("this replica polls" in d.log for d in (a, b)) >= 1
    assert await a.stop() == 0 and await b.stop() == 0
    # Connection errors, reconnects and step-downs were logged: never with the password.
    assert all(database.password not in d.log for d in (a, b)), "the store password in a log"


TRIALS = 5


@pytest.mark.soak
async def test_failover_trials_kill_the_leader_again_and_again(
    world: World, notifier: Notifier, postgres_db: postgres.Database
) -> None:
    """The kill trial, TRIALS times: each killed leader restarts and joins as standby, and
    the next kill hits whichever replica leads then."""
    env = {"NOTIFIER_STORE_PASSWORD": postgres_db.password}
    configs = [replica_config(world, postgres_db, name) for name in ("a.toml", "b.toml")]
    live = [await notifier.start(config, env=env) for config in configs]
    figures: list[tuple[float, int]] = []
    for trial in range(TRIALS):
        leader = await leader_of(*live)
        standby = next(d for d in live if d is not leader)
        handles = [
            world.add_job(f"Trial {trial} job {n}", email=f"t{trial}u{n}@example.com").job_handle
            for n in range(BURST)
        ]
        await world.polls_pass(3)
        sent_before = len(world.sink.messages)
        world.sink.set_delay(0.3)
        for handle in handles:
            world.sim.finish_job(COMPANY, handle, Outcome.SUCCEEDED)
        await world.wait_for_mails(sent_before + 2)
        await leader.kill()
        killed_at = time.monotonic()
        await standby.wait_for_log("this replica polls", within=LEASE * 1.25 + 15)
        taken_over = time.monotonic() - killed_at
        world.sink.set_delay(0)
        await world.wait_for_mails(sent_before + BURST, within=90)
        ids = {h: twins for h, twins in message_ids_by_job(world).items() if h in handles}
        assert set(ids) == set(handles), f"trial {trial}: a completion was lost"
        assert all(len(set(twins)) == 1 for twins in ids.values()), f"trial {trial}: two IDs"
        repeats = sum(len(twins) for twins in ids.values()) - BURST
        assert repeats <= IN_FLIGHT, f"trial {trial}: {repeats} repeats"
        assert taken_over <= LEASE * 1.25 + 10, f"trial {trial}: took over in {taken_over:.1f} s"
        figures.append((taken_over, repeats))
        config = configs[live.index(leader)]
        live[live.index(leader)] = await notifier.start(config, env=env)
        # The new process leads only if the survivor dies: it joins as standby.
        await live[live.index(standby) ^ 1].wait_for_log("notifier running")
    worst = max(t for t, _ in figures)
    print(
        f"failover trials: {TRIALS} kills, {TRIALS * BURST} completions, lost 0, "
        f"repeats {sum(r for _, r in figures)} (at most {max(r for _, r in figures)} for one "
        f"kill; bound {IN_FLIGHT}), takeover {min(t for t, _ in figures):.2f}-{worst:.2f} s"
    )
