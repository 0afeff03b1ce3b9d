"""The daemon's HTTP endpoints for operators: /healthz, /readyz and /metrics.

Owns the HTTP server and what each endpoint answers. Never decides readiness on its own:
the daemon supplies a readiness callable (see `assess_readiness` for the usual rule). Serves
on the configured address only; docs/DESIGN.md keeps it on loopback by default.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from notifier.config import split_listen
from notifier.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

#: Returns (ready, one-line reason); awaited on every GET /readyz.
Readiness = Callable[[], Awaitable[tuple[bool, str]]]

#: A successful poll older than this many poll intervals makes the daemon unready.
READY_POLL_INTERVALS = 3

_METRICS = web.AppKey("metrics", Metrics)
_READINESS: web.AppKey[Readiness] = web.AppKey("readiness")


def assess_readiness(
    *,
    now: float,
    started_at: float,
    last_successful_poll: float | None,
    poll_interval: float,
    auth_failure: str = "",
    store_problem: str = "",
    outages: Sequence[str] = (),
) -> tuple[bool, str]:
    """Ready when a poll succeeded within 3 poll intervals, the store is writable and no
    far end (the mail server, a webhook) is failing as a whole.

    Times are in seconds on one clock (monotonic is fine). `auth_failure` is set while IPS
    rejects the credentials, e.g. "authenticationFault 10001"; `store_problem` while the
    store cannot be written; `outages` names each far end down, with its error, until a
    message goes through there.
    """
    problems: list[str] = []
    if auth_failure:
        problems.append(f"IPS rejects the credentials ({auth_failure})")
    if store_problem:
        problems.append(f"store not writable: {store_problem}")
    problems.extend(f"cannot deliver: {outage}" for outage in outages)
    window = READY_POLL_INTERVALS * poll_interval
    if last_successful_poll is None:
        if now - started_at >= window or not problems:
            problems.append(f"no successful poll yet (started {now - started_at:.0f} s ago)")
    elif now - last_successful_poll > window:
        problems.append(f"no successful poll for {now - last_successful_poll:.0f} s")
    if problems:
        return False, "; ".join(problems)
    assert last_successful_poll is not None
    return True, f"ok: last successful poll {now - last_successful_poll:.0f} s ago"


@dataclass(frozen=True, slots=True)
class HttpServer:
    """A running endpoint server. `port` is the bound port (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_http(listen: str, metrics: Metrics, readiness: Readiness) -> HttpServer | None:
    """Serve the endpoints on `listen` ("host:port"); "" means no server and returns None.

    Raises OSError when the address cannot be bound (in use, not local).
    """
    if not listen:
        return None
    host, port = split_listen(listen)
    app = web.Application()
    app[_METRICS] = metrics
    app[_READINESS] = readiness
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    # No access log: a scraper every few seconds would drown the journal.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    log.info(
        "HTTP endpoints on http://%s/ (healthz, readyz, metrics)", _authority(host, bound_port)
    )
    return HttpServer(runner, host, bound_port)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _healthz(request: web.Request) -> web.Response:
    # Answering at all proves the event loop runs.
    return web.Response(text="ok\n")


async def _readyz(request: web.Request) -> web.Response:
    try:
        ready, reason = await request.app[_READINESS]()
    except Exception as exc:
        log.exception("readiness check failed")
        ready, reason = False, f"readiness check failed: {type(exc).__name__}"
    reason = " ".join(reason.split())  # one line, whatever the daemon passed
    return web.Response(status=200 if ready else 503, text=reason + "\n")


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[_METRICS].render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
