"""The IPS simulator as one object: world, scenario engine, SOAP endpoint and control API.

Owns the aiohttp.web server life cycle (start/stop on a loopback port) and the in-process
control API tests script against. Never listens anywhere but the host it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from aiohttp import web

from notifier.core.jobs import ActiveJob, JobLog
from notifier.sim.control import add_control_routes
from notifier.sim.faults import Fault
from notifier.sim.scenario import Pacing, ScenarioEngine
from notifier.sim.service import IpsService
from notifier.sim.state import Clock, Outcome, SimState, utc_now

SERVICE_PATH = "/scene7/services/IpsApiService"
DEFAULT_USER = "demo@example.com"
DEFAULT_PASSWORD = "demo"  # noqa: S105 - the simulator's documented demo credential
DEFAULT_COMPANIES = ("47", "48", "49")


class Simulator:
    """An IPS that tests and demos can script. Use `async with Simulator(...) as sim:`."""

    def __init__(
        self,
        *,
        seed: int = 0,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        tick: float = 1.0,
        jobs: int = 10,
        companies: Sequence[str] = DEFAULT_COMPANIES,
        pacing: Pacing | None = None,
        clock: Clock = utc_now,
        prefix: str = "",
    ) -> None:
        self.state = SimState(companies=list(companies), clock=clock)
        self.engine = ScenarioEngine(self.state, pacing or Pacing(tick=tick, jobs=jobs), seed)
        self.service = IpsService(self.state, user, password, prefix)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Simulator(url={self.url!r}, jobs={len(self.state.jobs)})"

    # -- life cycle --------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        """Listen, start the scenario engine, and return the IpsApiService URL."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post(SERVICE_PATH, self.service.handle)
        add_control_routes(app, self)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound_host, bound_port = site._server.sockets[0].getsockname()[:2]  # type: ignore[union-attr]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://{bound_host}:{bound_port}{SERVICE_PATH}"
        if self.engine.pacing.jobs > 0:
            self.engine.step()
        self._ticker = asyncio.create_task(self._tick_forever(), name="sim-ticker")
        return self.url

    async def stop(self) -> None:
        self.service.released.set()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        if not self.url:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.engine.pacing.tick)
            if not self.engine.paused:
                self.engine.step()

    # -- in-process control API --------------------------------------------------------

    @property
    def requests(self) -> int:
        """IPS SOAP requests served so far (control requests not counted)."""
        return self.service.stats.requests

    def add_job(self, **fields: Any) -> ActiveJob:
        """Add an active job; fields by model name (`state="Running"`, `progress=40`...)."""
        return self.state.add_job(self.state.new_job(**fields))

    def update_job(self, company: str, handle: str, **fields: Any) -> ActiveJob:
        return self.state.update_job(company, handle, **fields)

    def finish_job(self, company: str, handle: str, outcome: Outcome | str) -> JobLog:
        """The job leaves getActiveJobs and its job log (with this outcome) is written."""
        return self.state.finish_job(company, handle, Outcome(outcome))

    def remove_job(self, company: str, handle: str) -> ActiveJob:
        """The job leaves getActiveJobs without a job log."""
        return self.state.remove_job(company, handle)

    def pause(self) -> None:
        self.engine.paused = True

    def resume(self) -> None:
        self.engine.paused = False

    def step(self) -> None:
        """One scenario tick now, paused or not."""
        self.engine.step()

    def inject(self, fault: Fault, count: int | None = 1) -> None:
        """Answer the next `count` IPS requests (None: all, until cleared) with `fault`."""
        self.service.faults.inject(fault, count)

    def clear_faults(self) -> None:
        self.service.faults.clear()
        self.service.released.set()
        self.service.released = asyncio.Event()

    def populate(self, count: int, companies: int = 20, *, state: str = "Running") -> None:
        """Add `count` scripted jobs spread over `companies` companies (for benchmarks)."""
        handles = [str(100 + n) for n in range(companies)]
        for n in range(count):
            company = handles[n % companies]
            self.add_job(
                company_handle=company,
                name=f"Bulk job {n}",
                state=state,
                progress=n % 100,
                submit_user_email=f"user{n % 50}.{company}@example.com",
                locale=("en-US", "de-DE", "ja-JP", "fr-FR")[n % 4],
                description=f"Bulk job number {n}",
            )


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    *,
    user: str = DEFAULT_USER,
    password: str = DEFAULT_PASSWORD,
    tick: float = 1.0,
    jobs: int = 10,
    companies: Sequence[str] = DEFAULT_COMPANIES,
    ssl_context: ssl.SSLContext | None = None,
) -> Simulator:
    """A started simulator; its `url` is the IpsApiService URL. Call `await sim.stop()`."""
    sim = Simulator(
        seed=seed, user=user, password=password, tick=tick, jobs=jobs, companies=companies
    )
    await sim.start(host, port, ssl_context=ssl_context)
    return sim


def banner(sim: Simulator, user: str, password: str) -> str:
    """What `notifier sim` prints: where it listens, and the [ips] lines that log in to it."""
    base = sim.url.split("/scene7")[0]
    companies = ", ".join(f'"{company}"' for company in sim.state.companies)
    return (
        f"IPS simulator at {sim.url}  (control API: {base}/control/)\n"
        f"log in with user {user!r}, password {password!r}; in the notifier's configuration:\n"
        f"  [ips]\n"
        f'  url = "{sim.url}"\n'
        f'  user = "{user}"\n'
        f'  password = "{password}"\n'
        f"  companies = [{companies}]"
    )


async def run_forever(
    host: str = "127.0.0.1", port: int = 0, seed: int = 0, **options: Any
) -> None:
    """`notifier sim`: serve until cancelled (Ctrl-C), printing the URL to connect to."""
    sim = await serve(host, port, seed, **options)
    print(banner(sim, options.get("user", DEFAULT_USER), options.get("password", DEFAULT_PASSWORD)))
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
