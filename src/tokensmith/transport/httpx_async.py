"""The async twin of :class:`~tokensmith.transport.httpx_transport.HttpxTransport`,
over ``httpx.AsyncClient``.

Only the awaiting differs: settings, validation, request building and the exception
mapping are the ones in :mod:`tokensmith.transport._httpx_common`. httpx is imported
inside the constructor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith.transport._closing import AsyncClosing
from tokensmith.transport._httpx_common import (
    DEFAULT_TIMEOUT,
    HttpxBase,
    ProxySetting,
    TimeoutSetting,
    VerifySetting,
    exchange,
    read_response_async,
)
from tokensmith.transport.base import HttpRequest, HttpResponse

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncHttpxTransport"]


class AsyncHttpxTransport(HttpxBase["httpx.AsyncClient"], AsyncClosing):
    """Send requests with ``httpx.AsyncClient``.

    Args:
        verify: as for :class:`~tokensmith.transport.httpx_transport.HttpxTransport`.
        proxies: likewise (mounted as ``httpx.AsyncHTTPTransport``).
        timeout: likewise.
        client: an ``httpx.AsyncClient`` to use as-is; then ``verify``, ``proxies``
            and ``timeout`` must be left at their defaults, and :meth:`aclose` leaves
            the client open.

    Raises:
        ConfigurationError: for a bad argument.
    """

    def __init__(
        self,
        *,
        verify: VerifySetting = True,
        proxies: ProxySetting = None,
        timeout: TimeoutSetting = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        import httpx

        self._open(
            httpx.AsyncClient,
            httpx.AsyncHTTPTransport,
            verify=verify,
            proxies=proxies,
            timeout=timeout,
            client=client,
        )

    async def aclose(self) -> None:
        """Close the connection pool (if this transport created it). Idempotent."""
        client = self._release()
        if client is not None:
            await client.aclose()

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request``; return its response whatever the status.

        Raises:
            TransportTimeout: no answer within the timeout, or the call's deadline
                (:mod:`tokensmith.transport.deadline`) passed, checked between reads.
            TransportError: connection refused or reset, TLS failure, proxy failure.
            ConfigurationError: the transport is closed, or the URL cannot be sent.
            ProtocolError: the response body could not be decoded.
        """
        self._check_open()
        with exchange(self._client, request) as built:
            raw = await self._client.send(built, stream=True)
            try:
                return await read_response_async(raw, request)
            finally:
                await raw.aclose()
