"""The asynchronous IPS SOAP client: one aiohttp session, three operations.

Owns the transport: TLS (verified by default), timeouts, gzip, the response size caps, and
the mapping of every transport failure onto the IpsError tree. An answer is parsed as it
arrives: each chunk, decompressed by aiohttp as it comes off the socket, goes into the
incremental parser (notifier.ips.stream), so neither the body nor its tree is ever held
whole; a chunk is at most 64 KiB (about 50 jobs), a few milliseconds of parsing on the
event loop.
Never logs or shows the password (it lives only inside request bodies), never retries on its
own: the caller's poll loop does.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TypeVar

import aiohttp
from yarl import URL

from notifier.core.jobs import ActiveJob, JobLog
from notifier.ips.envelope import DEFAULT_MAX_BYTES, DEFAULT_MAX_ITEM_BYTES
from notifier.ips.errors import (
    IpsError,
    IpsFault,
    IpsPermanentError,
    IpsResponseError,
    IpsTimeoutError,
    IpsTransportError,
)
from notifier.ips.parse import active_jobs_stream, job_logs_stream
from notifier.ips.soap import Param, build_envelope
from notifier.ips.stream import CHUNK, AnswerStream

T = TypeVar("T")

# A matching nothing handle: getActiveJobs with it is the cheapest authenticated call.
LOGIN_CHECK_HANDLE = "ips-job-notifier|login-check|"
# includeWaitingJobs is in getActiveJobsParam from this version on (the 2014-04-03 WSDL);
# older versions' schemas do not have it, so it is not sent to them.
WAITING_JOBS_SINCE = "2014-04-03"
StreamFor = Callable[..., AnswerStream[T]]


class IpsClient:
    """`async with IpsClient(url, user, password) as ips: jobs = await ips.get_active_jobs()`."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        api_version: str = "2014-04-03",
        timeout: float = 30.0,
        verify_tls: bool = True,
        ca_file: str | None = None,
        app_name: str = "ips-job-notifier",
        max_response_bytes: int = DEFAULT_MAX_BYTES,
        max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES,
    ) -> None:
        self.url = url
        self.user = user
        self.__password = password
        self.api_version = api_version
        self.timeout = timeout
        self.app_name = app_name
        self.max_response_bytes = max_response_bytes
        self.max_item_bytes = max_item_bytes
        self._ssl: ssl.SSLContext | bool = _ssl_context(verify_tls, ca_file)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"IpsClient(url={self.url!r}, user={self.user!r}, api_version={self.api_version!r})"

    async def __aenter__(self) -> IpsClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl, limit=4),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=True,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- operations --------------------------------------------------------------------

    async def get_active_jobs(self, company_handle: str | None = None) -> list[ActiveJob]:
        """Every active job (of one company, or of all the user's companies), waiting ones
        included: without `includeWaitingJobs` the service may leave New and Waiting* out."""
        params: list[Param] = [("companyHandle", company_handle)]
        if self.api_version >= WAITING_JOBS_SINCE:
            params.append(("includeWaitingJobs", True))
        return await self._call("getActiveJobs", params, active_jobs_stream)

    async def get_job_logs(
        self,
        company_handle: str,
        start_date: datetime,
        end_date: datetime | None = None,
        num_rows: int = 500,
    ) -> list[JobLog]:
        """Job logs of one company whose jobs ran between start_date and end_date."""
        params: list[Param] = [
            ("companyHandle", company_handle),
            ("startDate", start_date),
            ("endDate", end_date),
            ("numRows", num_rows),
        ]
        return await self._call("getJobLogs", params, job_logs_stream)

    async def check_login(self) -> None:
        """A cheap authenticated call: raises IpsAuthenticationFault for bad credentials."""
        await self._call("getActiveJobs", [("jobHandle", LOGIN_CHECK_HANDLE)], active_jobs_stream)

    # -- transport ---------------------------------------------------------------------

    async def _call(
        self, operation: str, params: Sequence[Param], stream_for: StreamFor[T]
    ) -> list[T]:
        envelope = self._envelope(operation, params)
        stream = stream_for(max_bytes=self.max_response_bytes, max_item_bytes=self.max_item_bytes)
        return await self._post(operation, envelope, stream)

    def _envelope(self, operation: str, params: Sequence[Param]) -> bytes:
        try:
            return build_envelope(
                operation,
                params,
                user=self.user,
                password=self.__password,
                api_version=self.api_version,
                app_name=self.app_name,
            )
        except ValueError:
            raise IpsPermanentError(
                "the IPS user, password or a parameter holds characters XML cannot carry "
                "(control characters or NUL); fix the configuration"
            ) from None

    async def _post(self, operation: str, envelope: bytes, stream: AnswerStream[T]) -> list[T]:
        if self._session is None:
            raise IpsError("IpsClient used outside `async with`")
        headers = {
            "Content-Type": "text/xml; charset=UTF-8",
            "SOAPAction": operation,
            "Accept-Encoding": "gzip",
        }
        try:
            async with self._session.post(self.url, data=envelope, headers=headers) as response:
                self._check_length(response, operation)
                return await self._read(response, operation, stream)
        except TimeoutError:
            raise IpsTimeoutError(
                f"IPS {operation} did not answer within {self.timeout:g} s; "
                "it will be retried (raise ips.timeout if IPS is just slow)"
            ) from None
        except aiohttp.ClientSSLError as exc:
            raise IpsTransportError(
                f"TLS with {self._where()} failed ({exc.__class__.__name__}: {exc}); "
                "check the certificate, or give ca_file for a private CA"
            ) from None
        except aiohttp.ClientError as exc:
            raise IpsTransportError(
                f"IPS {operation} at {self._where()} failed: {exc.__class__.__name__}: {exc}"
            ) from None

    def _check_length(self, response: aiohttp.ClientResponse, operation: str) -> None:
        limit = self.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise IpsResponseError(
                f"IPS {operation} answer announces {response.content_length} bytes, over the "
                f"{limit}-byte limit; query one company at a time or raise the limit"
            )

    async def _read(
        self, response: aiohttp.ClientResponse, operation: str, stream: AnswerStream[T]
    ) -> list[T]:
        """Feed the answer to the parser as it arrives (decompressed), then read it out."""
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                stream.feed(chunk)
            return stream.close()
        except IpsFault:
            raise
        except IpsResponseError as exc:
            if response.status != 200:
                raise IpsTransportError(
                    f"IPS {operation} answered HTTP {response.status} without a SOAP "
                    f"response ({exc})"
                ) from None
            raise

    def _where(self) -> str:
        return str(URL(self.url).with_user(None).with_query(None))


def _ssl_context(verify_tls: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    if not verify_tls:
        return False
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context
