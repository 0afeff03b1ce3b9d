"""The IPS client against the simulator over real HTTP: answers, every fault, hostile bodies,
gzip, timeouts and TLS."""

import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifier.core.jobs import (
    DETAIL_JOB_TYPES,
    KINDS_WITHOUT_EMAIL,
    ActiveJob,
    EmailSetting,
    JobDetail,
    JobDetailKind,
    TaskItemProgress,
    TaskProgress,
    TaskState,
)
from notifier.ips import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    IpsError,
    IpsPermanentError,
    IpsResponseError,
    IpsRetryableError,
    IpsTimeoutError,
    IpsTransportError,
    JobState,
)
from notifier.ips.client import IpsClient
from notifier.sim import Fault, FaultKind, Outcome, Simulator

USER, PASSWORD = "demo@example.com", "s3cret-Pa55word"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(jobs=0, password=PASSWORD) as simulator:
        yield simulator


@pytest.fixture
async def ips(sim: Simulator) -> AsyncIterator[IpsClient]:
    async with IpsClient(sim.url, USER, PASSWORD, timeout=5) as client:
        yield client


async def test_lists_active_jobs_of_all_or_one_company(sim: Simulator, ips: IpsClient) -> None:
    a = sim.add_job(company_handle="47", name="Katalog", state="Running", progress=30)
    b = sim.add_job(company_handle="48", name="Banner", state="WaitingClient")
    assert await ips.get_active_jobs() == [a, b]
    (only,) = await ips.get_active_jobs("48")
    assert only.state is JobState.WAITING_CLIENT
    assert only == b


async def test_reads_the_job_log_of_a_finished_job(sim: Simulator, ips: IpsClient) -> None:
    job = sim.add_job(name="Nightly", state="Running")
    sim.finish_job("47", job.job_handle, Outcome.FATAL)
    logs = await ips.get_job_logs("47", datetime.now(UTC) - timedelta(hours=1))
    assert [(log.job_handle, log.fatal_error) for log in logs] == [(job.job_handle, True)]
    assert await ips.get_job_logs("47", datetime.now(UTC) + timedelta(hours=1)) == []


async def test_check_login_succeeds_with_good_credentials(sim: Simulator, ips: IpsClient) -> None:
    sim.add_job()
    await ips.check_login()
    assert sim.service.stats.by_operation == {"getActiveJobs": 1}


async def test_wrong_password_is_a_permanent_authentication_fault_never_showing_it(
    sim: Simulator,
) -> None:
    wrong = "very-Wrong-pa55"
    async with IpsClient(sim.url, USER, wrong) as client:
        with pytest.raises(IpsAuthenticationFault) as caught:
            await client.check_login()
        assert wrong not in repr(client)
    assert isinstance(caught.value, IpsPermanentError)
    assert caught.value.code == 10001
    assert wrong not in str(caught.value)
    assert wrong not in repr(caught.value)


@pytest.mark.parametrize("http_status", [500, 200])
@pytest.mark.parametrize(
    ("family", "code", "cls", "retry"),
    [
        ("authenticationFault", 10002, IpsAuthenticationFault, False),
        ("authorizationFault", 20003, IpsAuthorizationFault, False),
        ("ipsApiFault", 30000, IpsApiFault, True),
    ],
)
async def test_soap_faults_raise_typed_faults_whatever_the_http_status(
    sim: Simulator,
    ips: IpsClient,
    http_status: int,
    family: str,
    code: int,
    cls: type[IpsError],
    retry: bool,
) -> None:
    sim.inject(Fault(FaultKind.SOAP_FAULT, family, code, "Simulated", http_status=http_status))
    with pytest.raises(cls) as caught:
        await ips.get_active_jobs()
    assert isinstance(caught.value, IpsRetryableError) is retry
    assert (caught.value.family, caught.value.code) == (family, code)  # type: ignore[attr-defined]
    assert await ips.get_active_jobs() == []  # one request only


@pytest.mark.parametrize(
    ("kind", "cls", "says"),
    [
        (FaultKind.HTTP_503, IpsTransportError, "HTTP 503"),
        (FaultKind.HTML, IpsResponseError, "HTML page"),
        (FaultKind.EMPTY, IpsResponseError, "empty"),
        (FaultKind.TRUNCATED, IpsResponseError, "truncated"),
        (FaultKind.BAD_CREDENTIALS, IpsAuthenticationFault, "Invalid credentials"),
    ],
)
async def test_broken_answers_raise_clear_errors(
    sim: Simulator, ips: IpsClient, kind: FaultKind, cls: type[IpsError], says: str
) -> None:
    sim.add_job()
    sim.inject(Fault(kind), count=None)
    for _ in range(2):
        with pytest.raises(cls, match=says):
            await ips.get_active_jobs()
    sim.clear_faults()
    assert len(await ips.get_active_jobs()) == 1


async def test_a_hang_times_out_quickly(sim: Simulator) -> None:
    sim.inject(Fault(FaultKind.HANG))
    async with IpsClient(sim.url, USER, PASSWORD, timeout=0.3) as client:
        with pytest.raises(IpsTimeoutError, match=r"within 0.3 s"):
            await client.get_active_jobs()
        sim.clear_faults()
        assert await client.get_active_jobs() == []


async def test_answers_come_gzip_compressed(sim: Simulator, ips: IpsClient) -> None:
    sim.populate(200, companies=2)
    assert len(await ips.get_active_jobs()) == 200
    assert sim.service.stats.gzip_responses == 1


async def test_an_answer_over_the_size_cap_is_refused(sim: Simulator) -> None:
    sim.populate(200, companies=2)
    async with IpsClient(sim.url, USER, PASSWORD, max_response_bytes=20_000) as client:
        with pytest.raises(IpsResponseError, match="20000-byte limit"):
            await client.get_active_jobs()


async def test_unreachable_ips_is_a_retryable_transport_error() -> None:
    sim = Simulator(jobs=0)
    url = await sim.start()
    await sim.stop()
    async with IpsClient(url, USER, PASSWORD, timeout=2) as client:
        with pytest.raises(IpsTransportError, match="getActiveJobs"):
            await client.get_active_jobs()


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ips-sim.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "sim.pem", directory / "sim.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_self_signed_is_refused_by_default_and_trusted_with_ca_file(
    tmp_path: Path,
) -> None:
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    sim = Simulator(jobs=0, password=PASSWORD)
    url = await sim.start(ssl_context=context)
    try:
        sim.add_job()
        assert url.startswith("https://127.0.0.1:")
        async with IpsClient(url, USER, PASSWORD, timeout=5) as client:
            with pytest.raises(IpsTransportError, match="certificate"):
                await client.get_active_jobs()
        async with IpsClient(url, USER, PASSWORD, timeout=5, ca_file=str(cert_file)) as client:
            assert len(await client.get_active_jobs()) == 1
    finally:
        await sim.stop()


async def test_other_api_versions_and_the_unversioned_namespace_work(sim: Simulator) -> None:
    job = sim.add_job()
    for version in ("2008-01-15", "2012-02-14", "2022-11-01-beta", ""):
        async with IpsClient(sim.url, USER, PASSWORD, api_version=version) as client:
            assert await client.get_active_jobs() == [job]


async def test_a_password_xml_cannot_carry_is_a_config_error_that_never_shows_it(
    sim: Simulator,
) -> None:
    bad = "pass\x00word-Secret"
    async with IpsClient(sim.url, USER, bad) as client:
        with pytest.raises(IpsPermanentError, match="fix the configuration") as caught:
            await client.check_login()
    assert "word-Secret" not in str(caught.value)
    assert sim.requests == 0


def every_field_job(sim: Simulator, kind: JobDetailKind, n: int) -> ActiveJob:
    """A 2014-04-03 job with every field set, none left to its default."""
    start = datetime(2026, 11, 24, 10, 15, 30, 123000, tzinfo=timezone(timedelta(hours=-8)))
    tasks = tuple(
        TaskProgress(
            task_type=f"Task {t}",
            task_state=state,
            num_processed=10 * t,
            num_processing=t,
            num_pending=100 - 11 * t,
            progress=t / 10,
            progress_message=f"Step {t} <of> 3 & more",
            last_progress_update=start + timedelta(seconds=t),
            items=tuple(
                TaskItemProgress(
                    item_name=f"folder/asset-{t}-{i}.tif",
                    progress=i / 4,
                    progress_message=f"item {i}",
                    last_progress_update=start + timedelta(seconds=t, milliseconds=i),
                )
                for i in (1, 2)
            ),
        )
        for t, state in ((1, TaskState.DONE), (2, TaskState.PROCESSING))
    )
    setting = None if kind in KINDS_WITHOUT_EMAIL else EmailSetting.ERROR_AND_WARNING
    return sim.add_job(
        company_handle="c|47",
        name=f"Every field {n}",
        type="ATypeNotInTheReference",
        state="Running",
        submit_user_email="ana@example.com",
        locale="pt-BR",
        description="Todos os campos",
        server_name="s7sps1",
        start_date=start,
        trigger_time=start + timedelta(seconds=31),
        total_size=2**31 - 1,
        progress=37,
        progress_message="37 %",
        last_progress_update=start + timedelta(minutes=2),
        task_progress=tasks,
        detail=JobDetail(kind, setting),
    )


@pytest.mark.parametrize("prefix", ["", "ns1"])
async def test_simulator_and_client_agree_on_every_field_of_the_2014_active_job(
    prefix: str,
) -> None:
    async with Simulator(jobs=0, password=PASSWORD, prefix=prefix, companies=["c|47"]) as sim:
        jobs = [every_field_job(sim, kind, n) for n, kind in enumerate(JobDetailKind)]
        for job in jobs:
            for f in fields(job):
                assert getattr(job, f.name) not in (None, (), ""), f.name
            assert job.type is DETAIL_JOB_TYPES[job.detail.kind]  # type: ignore[union-attr]
        async with IpsClient(sim.url, USER, PASSWORD, timeout=5) as client:
            assert await client.get_active_jobs("c|47") == jobs


async def test_waiting_jobs_are_asked_for_so_queued_jobs_are_listed(
    sim: Simulator, ips: IpsClient
) -> None:
    new = sim.add_job(name="Queued", state="New")
    waiting = sim.add_job(name="Waiting", state="WaitingCoordinator")
    assert await ips.get_active_jobs() == [new, waiting]


async def test_a_bare_fault_with_http_200_is_the_authentication_fault_it_names() -> None:
    async def bare(request: web.Request) -> web.Response:
        await request.read()
        body = (
            '<tns:authenticationFault xmlns:tns="http://www.scene7.com/IpsApi/xsd">'
            "<tns:code>10001</tns:code><tns:reason>Invalid username/password</tns:reason>"
            "</tns:authenticationFault>"
        )
        return web.Response(text=body, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/scene7/services/IpsApiService", bare)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        url = f"http://127.0.0.1:{port}/scene7/services/IpsApiService"
        async with IpsClient(url, USER, PASSWORD, timeout=5) as client:
            with pytest.raises(IpsAuthenticationFault) as caught:
                await client.get_active_jobs()
        assert isinstance(caught.value, IpsPermanentError)
        assert caught.value.code == 10001
    finally:
        await runner.cleanup()


async def test_one_job_over_the_item_cap_is_refused_whatever_the_answer_size(
    sim: Simulator,
) -> None:
    sim.populate(300, companies=1)
    async with IpsClient(sim.url, USER, PASSWORD, max_item_bytes=100_000) as client:
        assert len(await client.get_active_jobs()) == 300
        sim.add_job(company_handle="100", description="long " * 60_000)
        with pytest.raises(IpsResponseError, match="100000-byte limit of a single item"):
            await client.get_active_jobs()
