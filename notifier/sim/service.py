"""The simulated IpsApiService endpoint: reads SOAP requests, checks credentials, answers.

Owns the request side of the wire (authHeader or HTTP Basic, the operation and its params),
injected faults, gzip and `faultHttpStatusCode`. Like the real service may, it lists New and
Waiting* jobs of 2014-04-03 and later only when asked for (`includeWaitingJobs`). Never
changes jobs: it only reads SimState.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.web_response import ContentCoding
from lxml import etree

from notifier.ips.client import WAITING_JOBS_SINCE
from notifier.ips.envelope import parse_document
from notifier.ips.errors import IpsError
from notifier.sim import soap
from notifier.sim.faults import Fault, FaultInjector, FaultKind
from notifier.sim.state import SimState

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
    b"<h1>The service is temporarily unavailable</h1><p>Please try again later.</p>"
    b"</body></html>"
)


@dataclass(slots=True)
class Stats:
    """What the simulator has served: tests assert on these."""

    requests: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    gzip_responses: int = 0
    faults: int = 0


@dataclass(frozen=True, slots=True)
class SoapRequest:
    operation: str
    namespace: str
    params: dict[str, str]
    user: str | None
    password: str | None
    fault_status: int


class _Reject(Exception):
    """A fault to answer instead of the operation's result."""

    def __init__(self, family: str, code: int, reason: str) -> None:
        super().__init__(reason)
        self.family, self.code, self.reason = family, code, reason


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: etree._Element | None) -> dict[str, str]:
    if element is None:
        return {}
    return {_local(c.tag): (c.text or "").strip() for c in element if isinstance(c.tag, str)}


def read_request(body: bytes, authorization: str | None) -> SoapRequest:
    """The operation, its params and the credentials of one SOAP request."""
    try:
        root = parse_document(body, max_bytes=1024 * 1024)
    except IpsError as exc:
        raise _Reject("ipsApiFault", 30003, f"Invalid request XML: {exc}") from None
    header = next((c for c in root if _local(c.tag) == "Header"), None)
    soap_body = next((c for c in root if _local(c.tag) == "Body"), None)
    auth = None
    if header is not None:
        auth = next((c for c in header if _local(c.tag) == "authHeader"), None)
    creds = _children(auth)
    operation = None
    if soap_body is not None:
        operation = next((c for c in soap_body if isinstance(c.tag, str)), None)
    if operation is None:
        raise _Reject("ipsApiFault", 30003, "Invalid request XML: no operation in the Body")
    user, password = creds.get("user"), creds.get("password")
    if user is None and authorization:
        user, password = _basic_credentials(authorization)
    status = creds.get("faultHttpStatusCode", "")
    return SoapRequest(
        operation=_local(operation.tag).removesuffix("Param"),
        namespace=str(operation.tag)[1:].partition("}")[0] if "}" in str(operation.tag) else "",
        params=_children(operation),
        user=user,
        password=password,
        fault_status=int(status) if status.isdigit() else 500,
    )


def _basic_credentials(authorization: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


class IpsService:
    """The aiohttp handler of /scene7/services/IpsApiService."""

    def __init__(self, state: SimState, user: str, password: str, prefix: str = "") -> None:
        self.state = state
        self.prefix = prefix  # "ns1": answers with prefixed elements, as other stacks write
        self._user = user
        self._password = password
        self.faults = FaultInjector()
        self.stats = Stats()
        self.released = asyncio.Event()  # set on stop or clear: hung requests return

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        fault = self.faults.take()
        if fault is not None:
            self.stats.faults += 1
            early = await self._transport_fault(fault)
            if early is not None:
                return early
        raw = await request.read()
        try:
            soap_request = read_request(raw, request.headers.get("Authorization"))
        except _Reject as reject:
            return self._reply(
                request, soap.fault_response(reject.family, reject.code, reject.reason), 500
            )
        op = soap_request.operation
        self.stats.by_operation[op] = self.stats.by_operation.get(op, 0) + 1
        try:
            self._authenticate(soap_request, fault)
            if fault is not None and fault.kind is FaultKind.SOAP_FAULT:
                raise _Reject(fault.family, fault.code, fault.reason)
            answer = self._answer(soap_request)
        except _Reject as reject:
            status = soap_request.fault_status
            if fault is not None and fault.kind is FaultKind.SOAP_FAULT and fault.http_status:
                status = fault.http_status
            body = soap.fault_response(reject.family, reject.code, reject.reason)
            return self._reply(request, body, status)
        if fault is not None and fault.kind is FaultKind.TRUNCATED:
            answer = answer[: max(len(answer) // 2, 1)]
        return self._reply(request, answer, 200)

    async def _transport_fault(self, fault: Fault) -> web.StreamResponse | None:
        if fault.kind is FaultKind.HANG:
            await self.released.wait()
            return web.Response(status=503, text="released")
        if fault.kind is FaultKind.HTTP_503:
            return web.Response(status=503, text="Service Unavailable")
        if fault.kind is FaultKind.HTML:
            return web.Response(
                status=fault.http_status or 200, body=HTML_PAGE, content_type="text/html"
            )
        if fault.kind is FaultKind.EMPTY:
            return web.Response(status=fault.http_status or 200, body=b"", content_type="text/xml")
        return None

    def _reply(self, request: web.Request, body: bytes, status: int) -> web.Response:
        response = web.Response(status=status, body=body, content_type="text/xml", charset="utf-8")
        if "gzip" in request.headers.get("Accept-Encoding", "").lower():
            response.enable_compression(ContentCoding.gzip)
            self.stats.gzip_responses += 1
        return response

    def _authenticate(self, request: SoapRequest, fault: Fault | None) -> None:
        if not request.user or request.password is None:
            raise _Reject("authenticationFault", 10000, "No credentials supplied")
        good = hmac.compare_digest(request.user.encode(), self._user.encode()) and (
            hmac.compare_digest(request.password.encode(), self._password.encode())
        )
        if not good or (fault is not None and fault.kind is FaultKind.BAD_CREDENTIALS):
            raise _Reject("authenticationFault", 10001, "Invalid credentials")

    def _answer(self, request: SoapRequest) -> bytes:
        params = request.params
        company = params.get("companyHandle") or None
        if company is not None and company not in self.state.companies:
            raise _Reject("authorizationFault", 20000, f"Invalid company handle: {company}")
        if request.operation == "getActiveJobs":
            found = self.state.active(
                company,
                params.get("jobHandle") or None,
                params.get("originalName") or None,
                include_waiting=_include_waiting(request),
            )
            prefix = self.prefix if request.namespace else ""
            items = "".join(sim_job.to_xml(prefix) for sim_job in found)
            return soap.active_jobs_envelope(items, request.namespace, prefix)
        if request.operation == "getJobLogs":
            logs = self.state.job_logs(
                company,
                _date_param(params, "startDate"),
                _date_param(params, "endDate"),
                _int_param(params, "numRows", 500),
            )
            return soap.job_logs_response(logs, request.namespace)
        raise _Reject("ipsApiFault", 30001, f"Unsupported operation: {request.operation}")


def _include_waiting(request: SoapRequest) -> bool:
    """Waiting jobs are listed when asked for, and always by versions before the one that
    added includeWaitingJobs (their schemas have no such choice)."""
    version = request.namespace.removeprefix(soap.IPS_NS).lstrip("/")
    if version < WAITING_JOBS_SINCE:
        return True
    return request.params.get("includeWaitingJobs") in ("true", "1")


def _date_param(params: dict[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Reject("ipsApiFault", 30001, f"Invalid parameter {name}: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise _Reject("ipsApiFault", 30001, f"Invalid parameter {name}: {value}") from None
