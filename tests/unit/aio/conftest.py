"""Fixtures of the async façade tests: FakeEntra behind an async (or sync) transport,
async applications built on a FakeClock, and a gate that holds token requests until
every concurrent caller has joined the single flight."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from tests.unit.application.fake_entra import HOST, TENANT, FakeEntra

import tokensmith.aio
from tokensmith._clock import FakeClock
from tokensmith.protocol.effects import Flow, Shared
from tokensmith.transport.base import HttpRequest, HttpResponse, Transport
from tokensmith.transport.mock import AsyncMockTransport

AUTHORITY = f"https://{HOST}/{TENANT}"
GRAPH = ["https://graph.microsoft.com/.default"]
WAIT = 10.0  # the longest any test waits for anything


class Gate:
    """Holds token requests while closed (threads block, coroutines await), so that
    concurrent callers pile up behind the flight leader; open by default."""

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        self.handler = handler
        self.opened = threading.Event()
        self.opened.set()

    def close(self) -> None:
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()

    def _holds(self, request: HttpRequest) -> bool:
        return urlparse(request.url).path.endswith("/token") and not self.opened.is_set()

    def sync(self) -> GatedTransport:
        return GatedTransport(self)

    def asynchronous(self) -> AsyncGatedTransport:
        return AsyncGatedTransport(self)


class GatedTransport:
    """A sync transport behind a :class:`Gate`."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def send(self, request: HttpRequest) -> HttpResponse:
        if self.gate._holds(request):
            assert self.gate.opened.wait(WAIT), "the gate never opened"
        return self.gate.handler(request)

    def close(self) -> None:
        pass


class AsyncGatedTransport:
    """An async transport behind a :class:`Gate`: waits without blocking its loop."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def send(self, request: HttpRequest) -> HttpResponse:
        if self.gate._holds(request):
            await until(self.gate.opened.is_set)
        return self.gate.handler(request)

    async def aclose(self) -> None:
        pass


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Await (polling) until ``condition()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.002)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """:func:`until` for a thread."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


def flight_key(flow: Flow[Any], transport: Transport) -> Any:
    """The single-flight key of ``flow`` (stepped up to its Shared effect, answering
    discovery on the way, then closed)."""
    effect = next(flow)
    while not isinstance(effect, Shared):
        effect = flow.send(transport.send(effect))
    flow.close()
    return effect.key


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def entra(clock: FakeClock) -> FakeEntra:
    return FakeEntra(clock)


@pytest.fixture
def async_transport(entra: FakeEntra) -> AsyncMockTransport:
    return AsyncMockTransport(entra.handle)


@pytest.fixture
def make_pca(
    async_transport: AsyncMockTransport, clock: FakeClock
) -> Callable[..., tokensmith.aio.PublicClientApplication]:
    def make(client_id: str = "pca-client", **kwargs: Any) -> Any:
        kwargs.setdefault("authority", AUTHORITY)
        kwargs.setdefault("transport", async_transport)
        kwargs.setdefault("sleep", clock.sleep)
        return tokensmith.aio.PublicClientApplication(client_id, clock=clock, **kwargs)

    return make


@pytest.fixture
def make_cca(
    async_transport: AsyncMockTransport, clock: FakeClock
) -> Callable[..., tokensmith.aio.ConfidentialClientApplication]:
    def make(client_id: str = "cca-client", credential: Any = "s3cret", **kwargs: Any) -> Any:
        kwargs.setdefault("authority", AUTHORITY)
        kwargs.setdefault("transport", async_transport)
        kwargs.setdefault("sleep", clock.sleep)
        return tokensmith.aio.ConfidentialClientApplication(
            client_id, credential, clock=clock, **kwargs
        )

    return make
