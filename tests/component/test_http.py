"""The operator endpoints over real HTTP: liveness, readiness with its reason, and metrics."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from notifier.core.events import EventKind
from notifier.http import HttpServer, assess_readiness, start_http
from notifier.metrics import CONTENT_TYPE, EmailResult, Metrics, PollResult
from tests.builders import METRIC_NAMES


class Switch:
    """A readiness callable the test flips, as the daemon's state would."""

    def __init__(self) -> None:
        self.answer: tuple[bool, str] = (False, "no successful poll yet (started 0 s ago)")
        self.calls = 0

    async def __call__(self) -> tuple[bool, str]:
        self.calls += 1
        return self.answer


@pytest.fixture
async def served() -> AsyncIterator[tuple[HttpServer, Metrics, Switch]]:
    metrics, switch = Metrics(), Switch()
    server = await start_http("127.0.0.1:0", metrics, switch)
    assert server is not None
    yield server, metrics, switch
    await server.close()


async def get(server: HttpServer, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthz_answers_ok(served: tuple[HttpServer, Metrics, Switch]) -> None:
    server, _, _ = served
    assert await get(server, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")


async def test_readyz_follows_the_daemon_state_with_a_reason(
    served: tuple[HttpServer, Metrics, Switch],
) -> None:
    server, _, switch = served
    status, _, body = await get(server, "/readyz")
    assert (status, body) == (503, "no successful poll yet (started 0 s ago)\n")

    switch.answer = (True, "ok: last successful poll 3 s ago")
    assert (await get(server, "/readyz"))[::2] == (200, "ok: last successful poll 3 s ago\n")

    switch.answer = (False, "IPS rejects the credentials\n(authenticationFault 10001)")
    status, _, body = await get(server, "/readyz")
    assert status == 503
    assert body == "IPS rejects the credentials (authenticationFault 10001)\n"
    assert switch.calls == 3


async def test_readyz_is_503_when_the_check_itself_fails() -> None:
    async def broken() -> tuple[bool, str]:
        raise RuntimeError("database is locked")

    server = await start_http("127.0.0.1:0", Metrics(), broken)
    assert server is not None
    try:
        assert (await get(server, "/readyz"))[::2] == (
            503,
            "readiness check failed: RuntimeError\n",
        )
    finally:
        await server.close()


async def test_metrics_exposes_every_documented_name(
    served: tuple[HttpServer, Metrics, Switch],
) -> None:
    server, metrics, _ = served
    metrics.count_poll(PollResult.OK)
    metrics.observe_poll_duration(0.25)
    metrics.mark_successful_poll(1_700_000_000.0)
    metrics.count_poll("auth_error")
    metrics.observe_poll_duration(0.1)
    metrics.set_active_jobs(7)
    metrics.count_event(EventKind.STARTED, 2)
    metrics.count_email(EmailResult.SENT)
    metrics.count_email("dead")
    metrics.count_delivery("email", "sent", 3)
    metrics.count_delivery("webhook", "retry")
    metrics.set_outbox(pending={"email": 3, "webhook": 2}, dead=1)

    status, content_type, body = await get(server, "/metrics")

    assert status == 200
    assert content_type == CONTENT_TYPE
    assert content_type.startswith("text/plain; version=")
    for name in METRIC_NAMES:
        assert f"# TYPE {name} " in body, name
    lines = set(body.splitlines())
    assert 'notifier_polls_total{result="ok"} 1.0' in lines
    assert 'notifier_polls_total{result="auth_error"} 1.0' in lines
    assert 'notifier_polls_total{result="error"} 0.0' in lines
    assert "notifier_poll_duration_seconds_count 2.0" in lines
    assert "notifier_active_jobs 7.0" in lines
    assert 'notifier_events_total{kind="started"} 2.0' in lines
    assert 'notifier_events_total{kind="finished"} 0.0' in lines
    assert 'notifier_emails_total{result="sent"} 1.0' in lines
    assert 'notifier_emails_total{result="dead"} 1.0' in lines
    assert 'notifier_emails_total{result="skipped"} 0.0' in lines
    assert 'notifier_deliveries_total{channel="email",result="sent"} 3.0' in lines
    assert 'notifier_deliveries_total{channel="webhook",result="retry"} 1.0' in lines
    assert 'notifier_deliveries_total{channel="webhook",result="held"} 0.0' in lines
    assert 'notifier_outbox_pending{channel="email"} 3.0' in lines
    assert 'notifier_outbox_pending{channel="webhook"} 2.0' in lines
    assert "notifier_outbox_dead 1.0" in lines
    assert "notifier_last_successful_poll_timestamp_seconds 1.7e+09" in lines


async def test_two_daemons_in_one_process_keep_separate_metrics() -> None:
    first, second = Metrics(), Metrics()
    first.set_active_jobs(5)
    assert b"notifier_active_jobs 5.0" in first.render()
    assert b"notifier_active_jobs 0.0" in second.render()


def test_unknown_label_values_are_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError):
        metrics.count_poll("maybe")
    with pytest.raises(ValueError):
        metrics.count_event("exploded")


async def test_empty_listen_means_no_server() -> None:
    assert await start_http("", Metrics(), Switch()) is None


async def test_a_port_in_use_is_an_oserror() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            await start_http(f"127.0.0.1:{port}", Metrics(), Switch())


async def test_ipv6_loopback(served: tuple[HttpServer, Metrics, Switch]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = await start_http("[::1]:0", Metrics(), Switch())
    except OSError:
        pytest.skip("::1 not configured")
    assert server is not None
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://[::1]:{server.port}/healthz") as response,
        ):
            assert response.status == 200
    finally:
        await server.close()


# --- the usual readiness rule ----------------------------------------------------------------


def test_ready_after_a_recent_successful_poll() -> None:
    ready = assess_readiness(now=100, started_at=0, last_successful_poll=95, poll_interval=30)
    assert ready == (True, "ok: last successful poll 5 s ago")


def test_unready_when_the_last_success_is_older_than_three_intervals() -> None:
    ready = assess_readiness(now=200, started_at=0, last_successful_poll=105, poll_interval=30)
    assert ready == (False, "no successful poll for 95 s")


def test_unready_before_the_first_poll() -> None:
    ready = assess_readiness(now=2, started_at=0, last_successful_poll=None, poll_interval=30)
    assert ready == (False, "no successful poll yet (started 2 s ago)")


def test_credentials_and_store_problems_are_named() -> None:
    ready, reason = assess_readiness(
        now=100,
        started_at=0,
        last_successful_poll=99,
        poll_interval=30,
        auth_failure="authenticationFault 10001",
        store_problem="attempt to write a readonly database",
    )
    assert not ready
    assert reason == (
        "IPS rejects the credentials (authenticationFault 10001); "
        "store not writable: attempt to write a readonly database"
    )


def test_a_far_end_down_is_named_until_a_message_goes_through() -> None:
    outage = "SMTP server mail.example.com:25 unavailable: refused (failing for 40 s)"
    ready, reason = assess_readiness(
        now=100, started_at=0, last_successful_poll=99, poll_interval=30, outages=[outage]
    )
    assert not ready
    assert reason == f"cannot deliver: {outage}"
