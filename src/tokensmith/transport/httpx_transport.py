"""The default transport: a synchronous ``httpx.Client``.

httpx is imported inside the constructor so ``import tokensmith`` stays cheap. The
settings, the request building and the exception mapping are shared with the async
twin (:mod:`tokensmith.transport.httpx_async`) in
:mod:`tokensmith.transport._httpx_common`, where the mapping table is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith.transport._closing import Closing
from tokensmith.transport._httpx_common import (
    DEFAULT_TIMEOUT,
    HttpxBase,
    ProxySetting,
    TimeoutSetting,
    VerifySetting,
    exchange,
    read_response,
)
from tokensmith.transport.base import HttpRequest, HttpResponse

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_TIMEOUT", "HttpxTransport", "ProxySetting", "TimeoutSetting"]


class HttpxTransport(HttpxBase["httpx.Client"], Closing):
    """Send requests with ``httpx``.

    Args:
        verify: ``True`` (system/certifi CAs), ``False`` (no TLS verification; tests
            only), the path of a CA bundle file or directory, or an ``SSLContext``.
        proxies: one proxy URL for every request, or a requests-style mapping such as
            ``{"https": "http://proxy:3128"}``; keys ``http``, ``https``, ``all``,
            ``scheme://host`` patterns, and ``no_proxy`` (comma-separated hosts).
        timeout: seconds for every phase, ``(connect, read)``, or ``None`` for none.
        client: an ``httpx.Client`` to use as-is; then ``verify``, ``proxies`` and
            ``timeout`` must be left at their defaults, and :meth:`close` leaves the
            client open (whoever made it closes it).

    Raises:
        ConfigurationError: for a bad argument (unknown type, missing CA file, a
            ``client`` combined with other settings).
    """

    def __init__(
        self,
        *,
        verify: VerifySetting = True,
        proxies: ProxySetting = None,
        timeout: TimeoutSetting = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        import httpx

        self._open(
            httpx.Client,
            httpx.HTTPTransport,
            verify=verify,
            proxies=proxies,
            timeout=timeout,
            client=client,
        )

    def close(self) -> None:
        """Close the connection pool (if this transport created it). Idempotent."""
        client = self._release()
        if client is not None:
            client.close()

    def send(self, request: HttpRequest) -> HttpResponse:
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
            raw = self._client.send(built, stream=True)
            try:
                return read_response(raw, request)
            finally:
                raw.close()
