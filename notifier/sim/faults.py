"""Faults the simulator can be told to answer with, for the next N requests or until cleared.

Owns the queue of injected faults. Never builds responses (the server does that).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    SOAP_FAULT = "soap_fault"  # a SOAP Fault of `family`/`code`, HTTP `http_status`
    HTTP_503 = "http_503"  # plain 503 Service Unavailable
    HTML = "html"  # an HTML error page with HTTP 200
    EMPTY = "empty"  # HTTP 200 with an empty body
    TRUNCATED = "truncated"  # the real answer cut in the middle
    HANG = "hang"  # never answers
    BAD_CREDENTIALS = "bad_credentials"  # the credentials are refused as if wrong


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    family: str = "ipsApiFault"
    code: int = 30000
    reason: str = "Simulated server exception"
    http_status: int | None = None  # SOAP faults: None = the authHeader's choice, else 500

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        return cls(
            kind=FaultKind(data["kind"]),
            family=str(data.get("family", "ipsApiFault")),
            code=int(data.get("code", 30000)),
            reason=str(data.get("reason", "Simulated server exception")),
            http_status=None if data.get("http_status") is None else int(data["http_status"]),
        )


@dataclass(slots=True)
class _Pending:
    fault: Fault
    remaining: int | None


class FaultInjector:
    """Injected faults in order; each lasts `count` requests, or until cleared if None."""

    def __init__(self) -> None:
        self._queue: deque[_Pending] = deque()

    def inject(self, fault: Fault, count: int | None = 1) -> None:
        self._queue.append(_Pending(fault, count))

    def clear(self) -> None:
        self._queue.clear()

    def take(self) -> Fault | None:
        """The fault for this request, if any, counting it down."""
        if not self._queue:
            return None
        pending = self._queue[0]
        if pending.remaining is not None:
            pending.remaining -= 1
            if pending.remaining <= 0:
                self._queue.popleft()
        return pending.fault

    def __len__(self) -> int:
        return len(self._queue)
