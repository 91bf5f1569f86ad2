"""Fakes the resilient and adapter tests share, sync and async."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tokensmith._clock import FakeClock
from tokensmith.transport.base import HttpRequest, HttpResponse

TOKEN = HttpRequest(
    "POST",
    "https://login.example/t/oauth2/v2.0/token",
    data={"client_id": "app", "grant_type": "refresh_token", "refresh_token": "RT-SECRET"},
    headers={"Authorization": "Bearer HEADER-SECRET"},
)


def scripted(*outcomes: HttpResponse | Exception) -> Callable[[HttpRequest], HttpResponse]:
    """A handler answering with ``outcomes`` in turn (raising the exceptions)."""
    queue: Iterator[HttpResponse | Exception] = iter(outcomes)

    def handler(request: HttpRequest) -> HttpResponse:
        outcome = next(queue)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return handler


class Sleeps:
    """A sleep function that records the delays and advances a fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.delays: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.sleep(seconds)


class AsyncSleeps(Sleeps):
    """The awaitable twin of :class:`Sleeps`."""

    async def __call__(self, seconds: float) -> None:  # type: ignore[override]
        super().__call__(seconds)


@dataclass
class FakeResponse:
    status_code: Any = 200
    text: Any = "{}"
    headers: Any = field(default_factory=lambda: {"Content-Type": "application/json"})
