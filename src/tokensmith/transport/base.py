"""The transport interface. The request/response values it carries are the protocol
core's (:mod:`tokensmith.protocol.http`), re-exported here."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = ["HttpRequest", "HttpResponse", "Transport"]


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
