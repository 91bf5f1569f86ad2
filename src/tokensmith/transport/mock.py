"""Transports for tests, sync and async: answer from a handler function and record
what they were sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.transport.base import HttpRequest, HttpResponse

__all__ = ["AsyncMockTransport", "MockTransport", "json_response"]


def json_response(
    body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """Build a JSON response."""
    merged = {"content-type": "application/json"}
    merged.update({k.lower(): v for k, v in (headers or {}).items()})
    return HttpResponse(status_code, json.dumps(body), merged)


class _Recorder:
    """The state both mocks share: the handler, the requests seen, closed or not."""

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []
        self.closed = False

    def _answer(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return self.handler(request)


class MockTransport(_Recorder):
    """Answers every request with ``handler(request)``; keeps the requests it saw.

    The handler may raise (for example :class:`~tokensmith.errors.TransportError`) to
    simulate a network failure.
    """

    def send(self, request: HttpRequest) -> HttpResponse:
        return self._answer(request)

    def close(self) -> None:
        self.closed = True


class AsyncMockTransport(_Recorder):
    """The async twin of :class:`MockTransport`, with the same synchronous handler."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        return self._answer(request)

    async def aclose(self) -> None:
        self.closed = True
