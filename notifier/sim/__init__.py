"""An IPS simulator (aiohttp.web) for the demo, tests and benchmarks.

`await serve(port=..., seed=...)` returns a started `Simulator`; `run_forever` is the
`notifier sim` command. Never contacts anything; listens on loopback only.
"""

from notifier.sim.faults import Fault, FaultKind
from notifier.sim.scenario import Pacing
from notifier.sim.server import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    SERVICE_PATH,
    Simulator,
    run_forever,
    serve,
)
from notifier.sim.state import Outcome, SimError

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "SERVICE_PATH",
    "Fault",
    "FaultKind",
    "Outcome",
    "Pacing",
    "SimError",
    "Simulator",
    "run_forever",
    "serve",
]
