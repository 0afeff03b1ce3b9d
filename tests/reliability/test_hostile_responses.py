"""Hostile and broken IPS responses: both parsers answer with jobs or an IpsError, never more.

- Mutation fuzzing: valid getActiveJobs, getJobLogs and fault bodies, mutated by a seeded
  generator (bytes flipped, inserted, deleted, slices repeated or moved, tags cut, truncation,
  encodings swapped), fed to both parsers. 10,000 cases in the quick form (parsing is fast:
  about 0.1 ms a case), 100,000 under soak.
- Hypothesis: arbitrary bytes, and XML-shaped text built from IPS element names, fed to both
  parsers (1,000 + 300 examples quick, 10,000 + 10,000 under soak).
- Through a real IpsClient and HTTP server: external entities (file and http) are never
  fetched (a file's contents never surface, the HTTP server sees no request), entity bombs
  are refused, an oversized or gzip-bombed answer is refused at the size cap.
"""

from __future__ import annotations

import gzip
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.ips import IpsError, parse_active_jobs, parse_job_logs
from notifier.ips.client import IpsClient
from tests import soap_bodies as sb
from tests.reliability.conftest import record_figure

PARSERS: tuple[Callable[[bytes], Sequence[object]], ...] = (parse_active_jobs, parse_job_logs)
NAMES = (
    "Envelope", "Body", "Header", "Fault", "faultcode", "faultstring", "detail",
    "authenticationFault", "ipsApiFault", "code", "reason", "getActiveJobsReturn", "jobArray",
    "items", "companyHandle", "jobHandle", "name", "state", "type", "submitUserEmail", "locale",
    "startDate", "progress", "lastProgressUpdate", "getJobLogsReturn", "jobLogArray",
    "fatalError", "fileErrorCount", "endDate", "taskProgressArray",
)  # fmt: skip
NAMESPACES = (
    "",
    ' xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03"',
    ' xmlns="http://schemas.xmlsoap.org/soap/envelope/"',
    ' xmlns:s="http://www.scene7.com/IpsApi/xsd"',
)


def seeds() -> list[bytes]:
    jobs = [sb.active_job(job_handle=f"47|job {n}|", name=f"job {n}") for n in range(4)]
    logs = [sb.job_log(job_handle=f"47|job {n}|") for n in range(3)]
    return [
        sb.active_jobs_body(jobs),
        sb.active_jobs_body([]),
        sb.job_logs_body(logs),
        sb.fault_body("authenticationFault", 10001, "Invalid credentials"),
        sb.hand_written_active_jobs("http://www.scene7.com/IpsApi/xsd/2014-04-03"),
    ]


def mutate(body: bytes, rng: random.Random) -> bytes:
    """One to four random edits of `body`."""
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        edit = rng.randrange(9)
        at = rng.randrange(len(data) + 1)
        if edit == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif edit == 1:  # insert markup-ish or random bytes
            data[at:at] = rng.choice(
                [b"<", b">", b"&", b"&amp;", b"]]>", b"<![CDATA[", b"<!--", b"\x00", b"\xff\xfe",
                 b"<items>", b"</items>", b"&#0;", b"&#x110000;", rng.randbytes(8)]
            )  # fmt: skip
        elif edit == 2:  # delete a stretch
            del data[at : at + rng.randint(1, 40)]
        elif edit == 3:  # repeat a stretch
            end = min(len(data), at + rng.randint(1, 200))
            data[end:end] = data[at:end] * rng.randint(1, 5)
        elif edit == 4:  # move a stretch elsewhere
            chunk = bytes(data[at : at + rng.randint(1, 100)])
            del data[at : at + len(chunk)]
            where = rng.randrange(len(data) + 1)
            data[where:where] = chunk
        elif edit == 5:  # truncate
            del data[at:]
        elif edit == 6:  # change a value's text
            start = data.find(b">", at)
            if start != -1:
                data[start + 1 : start + 1] = rng.choice(
                    [b"-1", b"99999999999999999999999", b"NaN", b"2026-13-45T99:99:99Z", b"true",
                     b"Done", b"\xe2\x80\xae", "\U0001f4a3".encode(), b"x" * 5000]
                )  # fmt: skip
        elif edit == 7:  # re-encode
            text = bytes(data).decode("utf-8", errors="replace")
            data = bytearray(text.encode(rng.choice(["utf-16", "latin-1", "utf-8-sig"]), "replace"))
        else:  # cut a tag name
            start = data.find(b"<", at)
            if start != -1:
                del data[start + 1 : start + 1 + rng.randint(1, 6)]
    return bytes(data)


def outcome(parse: Callable[[bytes], Sequence[object]], body: bytes) -> str:
    try:
        result = parse(body)
    except IpsError:
        return "refused"
    assert isinstance(result, list)
    return "parsed"


def run_mutations(cases: int) -> None:
    rng = random.Random(20261125)
    bodies = seeds()
    tally = {"parsed": 0, "refused": 0}
    started = time.perf_counter()
    for case in range(cases):
        body = mutate(bodies[case % len(bodies)], rng)
        for parse in PARSERS:
            tally[outcome(parse, body)] += 1
    elapsed = time.perf_counter() - started
    record_figure(
        f"parser mutations: {cases} mutated bodies x 2 parsers: {tally['parsed']} parsed, "
        f"{tally['refused']} refused with IpsError, 0 other exceptions "
        f"({elapsed / (2 * cases) * 1e3:.3f} ms a parse)"
    )


def test_mutated_bodies_parse_or_raise_ips_error() -> None:
    run_mutations(10_000)


@pytest.mark.soak
def test_mutated_bodies_parse_or_raise_ips_error_soak() -> None:
    run_mutations(100_000)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda name, ns, inner: f"<{name}{ns}>{inner}</{name}>",
        st.sampled_from(NAMES),
        st.sampled_from(NAMESPACES),
        children,
    )


xml_like = st.recursive(
    st.text(max_size=20) | st.sampled_from(["Running", "Done", "47", "2026-11-25T12:00:00Z"]),
    lambda inner: element(st.lists(inner, max_size=4).map("".join)),
    max_leaves=30,
)


def parse_both(body: bytes) -> None:
    for parse in PARSERS:
        outcome(parse, body)


QUICK = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
SOAK = settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))


@QUICK
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(body: bytes) -> None:
    parse_both(body)


@settings(QUICK, max_examples=300)
@given(xml_like)
def test_xml_shaped_text(text: str) -> None:
    parse_both(text.encode())


@pytest.mark.soak
@SOAK
@given(st.binary(max_size=5000))
def test_arbitrary_bytes_soak(body: bytes) -> None:
    parse_both(body)


@pytest.mark.soak
@SOAK
@given(xml_like)
def test_xml_shaped_text_soak(text: str) -> None:
    parse_both(text.encode())


# -- through the client ------------------------------------------------------------------------


@dataclass(slots=True)
class HostileIps:
    """An IPS endpoint that answers whatever the test sets, and a DTD server counting fetches."""

    answer: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    fetches: list[str] = field(default_factory=list)
    url: str = ""
    base: str = ""

    async def service(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=self.answer, headers=self.headers, content_type="text/xml")

    async def dtd(self, request: web.Request) -> web.Response:
        self.fetches.append(request.path)
        return web.Response(text='<!ENTITY leak "fetched">', content_type="application/xml-dtd")


@pytest.fixture
async def hostile() -> AsyncIterator[HostileIps]:
    ips = HostileIps()
    app = web.Application()
    app.router.add_post("/scene7/services/IpsApiService", ips.service)
    app.router.add_get("/{name}", ips.dtd)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ips.base = f"http://127.0.0.1:{port}"
    ips.url = f"{ips.base}/scene7/services/IpsApiService"
    try:
        yield ips
    finally:
        await runner.cleanup()


async def ask(ips: HostileIps, max_bytes: int | None = None) -> IpsError:
    client = IpsClient(ips.url, "u@example.com", "pw-hostile", timeout=5)
    if max_bytes is not None:
        client.max_response_bytes = max_bytes
    async with client:
        with pytest.raises(IpsError) as caught:
            await client.get_active_jobs("47")
    return caught.value


async def test_external_entities_are_never_fetched(hostile: HostileIps, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENTS-4711")
    hostile.answer = sb.xxe_file_body(str(secret))
    error = await ask(hostile)
    assert "TOP-SECRET" not in str(error)
    hostile.answer = sb.xxe_network_body(f"{hostile.base}/evil.dtd")
    await ask(hostile)
    hostile.answer = sb.xxe_file_body(f"{hostile.base}/general.dtd").replace(b"file://", b"")
    await ask(hostile)
    assert hostile.fetches == []


async def test_entity_bombs_are_refused(hostile: HostileIps) -> None:
    hostile.answer = sb.billion_laughs_body()
    await ask(hostile)
    big = "A" * 50_000
    hostile.answer = sb.billion_laughs_body().replace(
        b'<!ENTITY lol0 "lol">', f'<!ENTITY lol0 "{big}">'.encode()
    )  # quadratic blow-up: one large entity, referenced over and over
    await ask(hostile)


async def test_oversized_and_gzip_bombed_answers_are_refused(hostile: HostileIps) -> None:
    jobs = [sb.active_job(job_handle=f"47|job {n}|", name=f"job {n}") for n in range(400)]
    hostile.answer = sb.active_jobs_body(jobs)
    assert len(hostile.answer) > 100_000
    error = await ask(hostile, max_bytes=100_000)
    assert "limit" in str(error)
    hostile.answer = gzip.compress(b" " * 50_000_000, compresslevel=1)
    hostile.headers = {"Content-Encoding": "gzip"}
    await ask(hostile, max_bytes=1_000_000)
