"""The transport interfaces, sync and async. The request/response values they carry
are the protocol core's (:mod:`tokensmith.protocol.http`), re-exported here."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = ["AsyncTransport", "HttpRequest", "HttpResponse", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """Sends requests. Implementations map their own exceptions to
    :class:`tokensmith.errors.TransportError` / ``TransportTimeout``."""

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and return the response, whatever its status."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """The async twin of :class:`Transport`: the same contract, awaited.

    ``isinstance`` checks only that ``send`` and ``aclose`` exist, not that they are
    coroutine functions.
    """

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and return the response, whatever its status."""
        ...

    async def aclose(self) -> None:
        """Release connections. Idempotent."""
        ...
