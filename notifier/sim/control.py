"""The simulator's control API: JSON over HTTP under /control/, for tests, demos and people.

Owns the mapping of HTTP requests onto the in-process `Simulator` methods and of values to
JSON. Never authenticates: the simulator only ever listens on loopback.

    GET    /control/stats                 requests served, per operation, gzip, faults
    GET    /control/jobs                  active jobs          POST /control/jobs  add one
    POST   /control/jobs/update           {company_handle, job_handle, <fields>...}
    POST   /control/jobs/finish           {company_handle, job_handle, outcome}
    POST   /control/jobs/remove           {company_handle, job_handle}
    GET    /control/logs                  job logs written so far
    POST   /control/engine/pause | resume | step
    POST   /control/faults                {kind, family?, code?, reason?, http_status?, count?}
    DELETE /control/faults                clear every injected fault
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from aiohttp import web

from notifier.core.jobs import ActiveJob, JobLog
from notifier.sim.faults import Fault
from notifier.sim.state import Outcome, SimError

if TYPE_CHECKING:
    from notifier.sim.server import Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def to_json(value: ActiveJob | JobLog) -> dict[str, Any]:
    return {name: _plain(item) for name, item in asdict(value).items()}


def _plain(item: Any) -> Any:
    """JSON-ready: nested task progress and job detail too."""
    if isinstance(item, datetime):
        return item.isoformat()
    if isinstance(item, Enum):
        return item.value
    if isinstance(item, dict):
        return {name: _plain(value) for name, value in item.items()}
    if isinstance(item, list | tuple):
        return [_plain(value) for value in item]
    return item


def _guarded(handler: Handler) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (SimError, KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return run


async def _body(request: web.Request) -> dict[str, Any]:
    data = await request.json() if request.can_read_body else {}
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def add_control_routes(app: web.Application, sim: Simulator) -> None:
    async def stats(_: web.Request) -> web.StreamResponse:
        s = sim.service.stats
        return web.json_response(
            {
                "requests": s.requests,
                "by_operation": s.by_operation,
                "gzip_responses": s.gzip_responses,
                "faults": s.faults,
                "active_jobs": len(sim.state.jobs),
                "job_logs": len(sim.state.logs),
                "paused": sim.engine.paused,
            }
        )

    async def jobs(_: web.Request) -> web.StreamResponse:
        return web.json_response([to_json(j.job) for j in sim.state.jobs.values()])

    async def add(request: web.Request) -> web.StreamResponse:
        return web.json_response(to_json(sim.add_job(**await _body(request))))

    async def update(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        company, handle = data.pop("company_handle"), data.pop("job_handle")
        return web.json_response(to_json(sim.update_job(company, handle, **data)))

    async def finish(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        log = sim.finish_job(
            data["company_handle"], data["job_handle"], Outcome(data.get("outcome", "succeeded"))
        )
        return web.json_response(to_json(log))

    async def remove(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        return web.json_response(
            to_json(sim.remove_job(data["company_handle"], data["job_handle"]))
        )

    async def logs(_: web.Request) -> web.StreamResponse:
        return web.json_response([to_json(log) for log in sim.state.logs])

    async def engine(request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        {"pause": sim.pause, "resume": sim.resume, "step": sim.step}[action]()
        return web.json_response({"paused": sim.engine.paused})

    async def inject(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        count = data.get("count", 1)
        sim.inject(Fault.from_json(data), None if count is None else int(count))
        return web.json_response({"pending": len(sim.service.faults)})

    async def clear(_: web.Request) -> web.StreamResponse:
        sim.clear_faults()
        return web.json_response({"pending": 0})

    app.router.add_get("/control/stats", _guarded(stats))
    app.router.add_get("/control/jobs", _guarded(jobs))
    app.router.add_post("/control/jobs", _guarded(add))
    app.router.add_post("/control/jobs/update", _guarded(update))
    app.router.add_post("/control/jobs/finish", _guarded(finish))
    app.router.add_post("/control/jobs/remove", _guarded(remove))
    app.router.add_get("/control/logs", _guarded(logs))
    app.router.add_post("/control/engine/{action:pause|resume|step}", _guarded(engine))
    app.router.add_post("/control/faults", _guarded(inject))
    app.router.add_delete("/control/faults", _guarded(clear))
