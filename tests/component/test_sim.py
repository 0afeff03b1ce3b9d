"""The simulator over real HTTP: SOAP answers, credentials, control API, scenario engine."""

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from notifier.ips import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    JobState,
    parse_active_jobs,
    parse_job_logs,
)
from notifier.ips.soap import Param, build_envelope
from notifier.sim import Outcome, Simulator
from notifier.sim.scenario import LOCALES, Pacing

USER, PASSWORD = "demo@example.com", "demo"


def request(
    operation: str = "getActiveJobs",
    params: list[Param] | None = None,
    *,
    user: str = USER,
    password: str = PASSWORD,
    version: str = "2014-04-03",
) -> bytes:
    return build_envelope(
        operation, params or [], user=user, password=password, api_version=version, app_name="t"
    )


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(jobs=0) as simulator:
        yield simulator


async def post(url: str, body: bytes, **headers: str) -> tuple[int, bytes, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": "text/xml", **headers}) as r,
    ):
        return r.status, await r.read(), r.headers.get("Content-Encoding", "")


async def test_scripted_job_is_listed_with_every_field(sim: Simulator) -> None:
    job = sim.add_job(name="Frühjahrskatalog", state="Running", progress=40, locale="de-DE")
    status, body, _ = await post(sim.url, request())
    assert status == 200
    assert parse_active_jobs(body) == [job]
    for element in ("taskProgressArray", "imageServingPublishJob", "emailSetting", "triggerTime"):
        assert element.encode() in body


async def test_answer_uses_the_namespace_of_the_request(sim: Simulator) -> None:
    sim.add_job()
    _, body, _ = await post(sim.url, request(version="2008-01-15"))
    assert b'xmlns="http://www.scene7.com/IpsApi/xsd/2008-01-15"' in body
    assert len(parse_active_jobs(body)) == 1


async def test_company_and_job_handle_filter_the_answer(sim: Simulator) -> None:
    a = sim.add_job(company_handle="47", name="A")
    b = sim.add_job(company_handle="48", name="B")
    waiting: Param = ("includeWaitingJobs", True)
    _, body, _ = await post(sim.url, request(params=[("companyHandle", "48"), waiting]))
    assert parse_active_jobs(body) == [b]
    _, body, _ = await post(sim.url, request(params=[("jobHandle", a.job_handle), waiting]))
    assert parse_active_jobs(body) == [a]
    _, body, _ = await post(sim.url, request(params=[("companyHandle", "999")]))
    with pytest.raises(IpsAuthorizationFault):
        parse_active_jobs(body)


@pytest.mark.parametrize("state", ["New", "WaitingClient", "WaitingCoordinator"])
async def test_waiting_jobs_are_listed_only_when_asked_for(sim: Simulator, state: str) -> None:
    waiting = sim.add_job(name="Queued", state=state)
    running = sim.add_job(name="Busy", state="Running")
    _, body, _ = await post(sim.url, request())
    assert parse_active_jobs(body) == [running]
    _, body, _ = await post(sim.url, request(params=[("includeWaitingJobs", False)]))
    assert parse_active_jobs(body) == [running]
    _, body, _ = await post(sim.url, request(params=[("includeWaitingJobs", True)]))
    assert parse_active_jobs(body) == [waiting, running]
    _, body, _ = await post(sim.url, request(version="2012-02-14"))  # before the choice existed
    assert len(parse_active_jobs(body)) == 2


async def test_answers_come_prefixed_as_other_soap_stacks_write_them() -> None:
    async with Simulator(jobs=0, prefix="ns1") as prefixed:
        job = prefixed.add_job(name="Prefixed", state="Running", progress=60)
        _, body, _ = await post(prefixed.url, request())
    assert b"<ns1:items><ns1:companyHandle>" in body
    assert b"<ns1:taskProgressArray><ns1:items>" in body
    assert parse_active_jobs(body) == [job]


async def test_wrong_or_missing_credentials_are_authentication_faults_with_http_500(
    sim: Simulator,
) -> None:
    status, body, _ = await post(sim.url, request(password="wrong"))
    assert status == 500
    with pytest.raises(IpsAuthenticationFault) as caught:
        parse_active_jobs(body)
    assert caught.value.code == 10001
    status, body, _ = await post(sim.url, request(user="", password=""))
    with pytest.raises(IpsAuthenticationFault) as caught:
        parse_active_jobs(body)
    assert caught.value.code == 10000


async def test_http_basic_is_accepted_instead_of_auth_header(sim: Simulator) -> None:
    body = (
        request()
        .replace(b"<user>demo@example.com</user>", b"")
        .replace(b"<password>demo</password>", b"")
    )
    credentials = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    status, answer, _ = await post(sim.url, body, Authorization=f"Basic {credentials}")
    assert status == 200
    assert parse_active_jobs(answer) == []


async def test_fault_http_status_code_from_the_auth_header_is_honoured(sim: Simulator) -> None:
    body = request(password="wrong").replace(
        b"</authHeader>", b"<faultHttpStatusCode>200</faultHttpStatusCode></authHeader>"
    )
    status, answer, _ = await post(sim.url, body)
    assert status == 200
    with pytest.raises(IpsAuthenticationFault):
        parse_active_jobs(answer)


async def test_gzip_is_used_when_accepted(sim: Simulator) -> None:
    sim.add_job()
    _, _, encoding = await post(sim.url, request(), **{"Accept-Encoding": "gzip"})
    assert encoding == "gzip"
    _, _, encoding = await post(sim.url, request(), **{"Accept-Encoding": "identity"})
    assert encoding == ""


async def test_finishing_a_job_writes_its_log_and_drops_it(sim: Simulator) -> None:
    job = sim.add_job(name="Upload", type="UrlUpload", state="Running")
    sim.finish_job(job.company_handle, job.job_handle, Outcome.FAILED)
    _, body, _ = await post(sim.url, request())
    assert parse_active_jobs(body) == []
    since = datetime.now(UTC) - timedelta(hours=1)
    params: list[Param] = [("companyHandle", "47"), ("startDate", since)]
    _, body, _ = await post(sim.url, request("getJobLogs", params))
    (log,) = parse_job_logs(body)
    assert log.job_handle == job.job_handle
    assert log.log_type == "UploadError"
    assert log.file_error_count and log.file_error_count > 0
    assert log.fatal_error is False


async def test_control_api_scripts_jobs_faults_and_counts_requests(sim: Simulator) -> None:
    base = sim.url.split("/scene7")[0] + "/control"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/jobs", json={"name": "J", "state": "New"}) as r:
            added = await r.json()
        key = {"company_handle": added["company_handle"], "job_handle": added["job_handle"]}
        update = {**key, "state": "Running", "progress": 60}
        async with http.post(f"{base}/jobs/update", json=update) as r:
            assert (await r.json())["state"] == "Running"
        fault = {"kind": "soap_fault", "family": "ipsApiFault", "code": 30000, "count": 1}
        async with http.post(f"{base}/faults", json=fault) as r:
            assert r.status == 200
        _, body, _ = await post(sim.url, request())
        with pytest.raises(IpsApiFault):
            parse_active_jobs(body)
        _, body, _ = await post(sim.url, request())
        (job,) = parse_active_jobs(body)
        assert (job.state, job.progress) == (JobState.RUNNING, 60)
        async with http.post(f"{base}/jobs/finish", json={**key, "outcome": "warnings"}) as r:
            assert (await r.json())["log_type"] == "ImageServingPublishWarning"
        async with http.post(f"{base}/jobs/remove", json=key) as r:
            assert r.status == 400  # already gone
        async with http.get(f"{base}/stats") as r:
            stats = await r.json()
    assert stats["requests"] == 2
    assert stats["job_logs"] == 1


def story(seed: int, steps: int) -> list[tuple[str, str, str]]:
    clock = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n) for n in range(10**6))
    sim = Simulator(seed=seed, jobs=6, clock=lambda: next(clock))
    seen = []
    for _ in range(steps):
        sim.step()
        seen += [
            (j.job.name, j.job.state.value, str(j.job.progress)) for j in sim.state.jobs.values()
        ]
    return seen


def test_one_seed_tells_one_story() -> None:
    assert story(7, 40) == story(7, 40)
    assert story(7, 40) != story(8, 40)


def test_scenario_drives_jobs_through_their_whole_lives() -> None:
    sim = Simulator(seed=3, pacing=Pacing(jobs=12, run_ticks=(3, 6), stall_chance=0.5))
    history: dict[tuple[str, str], list[JobState]] = {}
    stalls = 0
    locales: set[str | None] = set()
    for _ in range(300):
        before = {k: j.job for k, j in sim.state.jobs.items()}
        sim.step()
        for key, sim_job in sim.state.jobs.items():
            locales.add(sim_job.job.locale)
            states = history.setdefault(key, [])
            if not states or states[-1] is not sim_job.job.state:
                states.append(sim_job.job.state)
            old = before.get(key)
            if old and old.state is JobState.RUNNING is sim_job.job.state:
                stalls += old.last_progress_update == sim_job.job.last_progress_update
    finished = {(log.company_handle, log.job_handle) for log in sim.state.logs}
    assert len(finished) > 100
    for key in finished & history.keys():
        states = history[key]
        assert states[0] is JobState.NEW
        assert states[1] in (JobState.WAITING_CLIENT, JobState.WAITING_COORDINATOR)
        assert states[2] is JobState.RUNNING
        assert states[-1] in (JobState.DONE, JobState.STOPPING)
    assert stalls > 0
    assert {log.log_type for log in sim.state.logs} >= {"FatalError", "UploadWarning"}
    assert {log.fatal_error for log in sim.state.logs} == {True, False}
    assert len({log.company_handle for log in sim.state.logs}) == 3
    assert set(LOCALES) == locales


async def test_serves_ten_thousand_jobs_of_twenty_companies() -> None:
    async with Simulator(jobs=0) as sim:
        sim.populate(10_000, companies=20)
        _, body, _ = await post(sim.url, request())
        jobs = parse_active_jobs(body)
        _, body, _ = await post(sim.url, request(params=[("companyHandle", "105")]))
        one_company = parse_active_jobs(body)
    assert len(jobs) == 10_000
    assert len({j.company_handle for j in jobs}) == 20
    assert len(one_company) == 500


async def wait_for(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_at_demo_speed_jobs_live_their_whole_lives_in_seconds() -> None:
    pacing = Pacing(tick=0.01, jobs=5, wait_ticks=(1, 2), run_ticks=(2, 4), stall_ticks=(1, 2))
    async with Simulator(seed=5, pacing=pacing) as sim:
        await wait_for(lambda: len(sim.state.logs) >= 10)
        _, body, _ = await post(sim.url, request())
    assert 1 <= len(parse_active_jobs(body)) <= 5


async def test_control_api_pauses_steps_and_resumes_the_engine() -> None:
    async with Simulator(seed=1, pacing=Pacing(tick=0.01, jobs=3)) as sim:
        base = sim.url.split("/scene7")[0] + "/control"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/engine/pause") as r:
                assert (await r.json())["paused"] is True
            frozen = {k: j.job for k, j in sim.state.jobs.items()}
            await asyncio.sleep(0.05)  # ticks elapse; a paused engine must not move
            assert {k: j.job for k, j in sim.state.jobs.items()} == frozen
            async with http.post(f"{base}/engine/step") as r:
                assert r.status == 200
            assert {k: j.job for k, j in sim.state.jobs.items()} != frozen
            async with http.post(f"{base}/engine/resume") as r:
                assert (await r.json())["paused"] is False
            async with http.post(f"{base}/faults", json={"kind": "http_503", "count": None}):
                pass
            assert (await post(sim.url, request()))[0] == 503
            assert (await post(sim.url, request()))[0] == 503
            async with http.delete(f"{base}/faults"):
                pass
            assert (await post(sim.url, request()))[0] == 200
            async with http.post(f"{base}/faults", json={"kind": "nonsense"}) as r:
                assert r.status == 400
