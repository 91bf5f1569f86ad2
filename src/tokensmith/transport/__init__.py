"""HTTP transports: the only layer of tokensmith that touches the network.

A transport has one method, :meth:`Transport.send` (awaited on an
:class:`AsyncTransport`). The protocol core never imports a transport; drivers hand
the requests a flow yields to one.

The implementations (:class:`HttpxTransport`, :class:`HttpClientTransport`,
:class:`ResilientTransport` and their async twins, :class:`ThreadedTransport`,
:func:`async_transport_for`) and the sans-I/O policies (:class:`RetryPolicy`,
:class:`Throttle`) are loaded on first attribute access, so importing this package
imports neither httpx nor the retry machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith._lazy import lazy_names
from tokensmith.transport.base import AsyncTransport, HttpRequest, HttpResponse, Transport

if TYPE_CHECKING:
    from tokensmith.transport.http_client_adapter import (
        AsyncHttpClientTransport,
        HttpClientTransport,
        async_transport_for,
    )
    from tokensmith.transport.httpx_async import AsyncHttpxTransport
    from tokensmith.transport.httpx_transport import HttpxTransport
    from tokensmith.transport.resilient import AsyncResilientTransport, ResilientTransport
    from tokensmith.transport.retry import RetryPolicy
    from tokensmith.transport.threaded import ThreadedTransport
    from tokensmith.transport.throttle import Throttle

__all__ = [
    "AsyncHttpClientTransport",
    "AsyncHttpxTransport",
    "AsyncResilientTransport",
    "AsyncTransport",
    "HttpClientTransport",
    "HttpRequest",
    "HttpResponse",
    "HttpxTransport",
    "ResilientTransport",
    "RetryPolicy",
    "ThreadedTransport",
    "Throttle",
    "Transport",
    "async_transport_for",
]

_LAZY = {
    "AsyncHttpClientTransport": "tokensmith.transport.http_client_adapter",
    "AsyncHttpxTransport": "tokensmith.transport.httpx_async",
    "AsyncResilientTransport": "tokensmith.transport.resilient",
    "HttpClientTransport": "tokensmith.transport.http_client_adapter",
    "HttpxTransport": "tokensmith.transport.httpx_transport",
    "ResilientTransport": "tokensmith.transport.resilient",
    "RetryPolicy": "tokensmith.transport.retry",
    "ThreadedTransport": "tokensmith.transport.threaded",
    "Throttle": "tokensmith.transport.throttle",
    "async_transport_for": "tokensmith.transport.http_client_adapter",
}


__getattr__ = lazy_names(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
