"""Times GET /healthz round trips against a daemon, from a process of its own.

The daemon has no event-loop lag metric; a health check it answers from the same loop is the
closest outside measure: a round trip is the loop's lag plus a loopback HTTP exchange. Runs
apart from the test's own event loop (which serves the simulator) so that the figure is the
daemon's. Prints one JSON object: the count and the p50, p99 and max in milliseconds.
"""

from __future__ import annotations

import http.client
import json
import sys
import time


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def probe(port: int, seconds: float, every: float = 0.1) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    end = time.monotonic() + seconds
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        elapsed = time.monotonic() - started
        if ok:
            latencies.append(elapsed * 1000)
        else:
            failures += 1
        time.sleep(max(0.0, every - elapsed))
    latencies.sort()
    return {
        "count": len(latencies),
        "failures": failures,
        "p50_ms": percentile(latencies, 0.5) if latencies else -1.0,
        "p99_ms": percentile(latencies, 0.99) if latencies else -1.0,
        "max_ms": latencies[-1] if latencies else -1.0,
    }


if __name__ == "__main__":
    print(json.dumps(probe(int(sys.argv[1]), float(sys.argv[2]))), flush=True)
