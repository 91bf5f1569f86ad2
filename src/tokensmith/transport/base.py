"""The transport interface and the request/response values that cross it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["HttpRequest", "HttpResponse", "Transport"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request, as the protocol core describes it.

    Attributes:
        method: ``"GET"`` or ``"POST"``.
        url: absolute URL, without the query parameters given in ``params``.
        params: query parameters, appended to ``url`` by the transport.
        data: form fields, sent ``application/x-www-form-urlencoded`` (POST only).
        headers: request headers.
        secret_fields: names of ``data``/``params`` fields that must never be logged.
    """

    method: str
    url: str
    params: Mapping[str, str] | None = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_fields: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.url})"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One HTTP response.

    Attributes:
        status_code: the HTTP status.
        text: the body decoded as text.
        headers: response headers with lower-cased names.
    """

    status_code: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"HttpResponse({self.status_code}, {len(self.text)} chars)"


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
