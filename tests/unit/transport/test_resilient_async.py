"""AsyncResilientTransport over AsyncMockTransport: the sync cases, awaited.

Both transports drive the one decision generator, so these cases check the async
driver (awaiting sends and sleeps, throwing errors in), not the policy again.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.unit.transport._fakes import TOKEN, AsyncSleeps, scripted

from tokensmith._clock import FakeClock
from tokensmith.errors import ProtocolError, TransportError, TransportTimeout
from tokensmith.transport import AsyncResilientTransport, AsyncTransport, RetryPolicy, Throttle
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import AsyncMockTransport, json_response


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> AsyncSleeps:
    return AsyncSleeps(clock)


def build(
    mock: AsyncMockTransport, clock: FakeClock, sleeps: AsyncSleeps, *, throttle: bool = True
) -> AsyncResilientTransport:
    return AsyncResilientTransport(
        mock,
        retry=RetryPolicy(max_attempts=3, backoff=0.5, jitter=lambda: 1.0, clock=clock),
        throttle=Throttle(clock, default_retry_after=60) if throttle else None,
        sleep=sleeps,
    )


def test_503_twice_then_success(clock: FakeClock, sleeps: AsyncSleeps) -> None:
    ok = json_response({"access_token": "at"})
    mock = AsyncMockTransport(scripted(HttpResponse(503, "busy"), HttpResponse(503, "busy"), ok))
    transport = build(mock, clock, sleeps)
    assert isinstance(transport, AsyncTransport)
    assert asyncio.run(transport.send(TOKEN)) is ok
    assert len(mock.requests) == 3
    assert sleeps.delays == [0.5, 1.0]


def test_final_503_is_throttled(clock: FakeClock, sleeps: AsyncSleeps) -> None:
    last = HttpResponse(503, "still busy", {"retry-after": "7"})
    mock = AsyncMockTransport(scripted(HttpResponse(503, "busy"), HttpResponse(503, "b"), last))
    transport = build(mock, clock, sleeps)

    async def twice() -> tuple[HttpResponse, HttpResponse]:
        first = await transport.send(TOKEN)
        clock.advance(6)
        return first, await transport.send(TOKEN)

    assert asyncio.run(twice()) == (last, last)
    assert len(mock.requests) == 3  # the second call saw no traffic


def test_429_retry_after_is_awaited(clock: FakeClock, sleeps: AsyncSleeps) -> None:
    ok = json_response({})
    mock = AsyncMockTransport(scripted(HttpResponse(429, "slow down", {"retry-after": "2"}), ok))
    assert asyncio.run(build(mock, clock, sleeps).send(TOKEN)) is ok
    assert sleeps.delays == [2.0]


def test_transport_errors_retried_then_the_last_raised(
    clock: FakeClock, sleeps: AsyncSleeps
) -> None:
    errors = [TransportError("refused"), TransportTimeout("slow"), TransportError("last")]
    mock = AsyncMockTransport(scripted(*errors))
    transport = build(mock, clock, sleeps)
    with pytest.raises(TransportError) as info:
        asyncio.run(transport.send(TOKEN))
    assert info.value is errors[-1]
    assert len(mock.requests) == 3
    assert sleeps.delays == [0.5, 1.0]
    assert len(transport.throttle or []) == 0


def test_other_exceptions_are_not_retried(clock: FakeClock, sleeps: AsyncSleeps) -> None:
    original = ProtocolError("garbled")
    mock = AsyncMockTransport(scripted(original))
    with pytest.raises(ProtocolError) as info:
        asyncio.run(build(mock, clock, sleeps).send(TOKEN))
    assert info.value is original
    assert len(mock.requests) == 1
    assert sleeps.delays == []


def test_cancellation_is_not_an_attempt(clock: FakeClock) -> None:
    class Hangs(AsyncMockTransport):
        async def send(self, request: object) -> HttpResponse:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = AsyncResilientTransport(
        Hangs(scripted()),
        retry=RetryPolicy(max_attempts=3, backoff=0.5, jitter=lambda: 1.0, clock=clock),
        throttle=None,
        sleep=sleep,
    )

    async def cancel() -> None:
        task = asyncio.ensure_future(transport.send(TOKEN))
        await asyncio.sleep(0)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancel())
    assert slept == []


def test_without_retry_or_throttle_it_is_a_pass_through() -> None:
    busy = HttpResponse(503, "busy")
    mock = AsyncMockTransport(scripted(busy, busy))
    transport = AsyncResilientTransport(mock, retry=None, throttle=None)

    async def twice() -> list[HttpResponse]:
        return [await transport.send(TOKEN), await transport.send(TOKEN)]

    assert asyncio.run(twice()) == [busy, busy]
    assert len(mock.requests) == 2


def test_async_with_closes_inner(clock: FakeClock, sleeps: AsyncSleeps) -> None:
    mock = AsyncMockTransport(scripted())

    async def use() -> None:
        async with build(mock, clock, sleeps) as transport:
            assert "AsyncResilientTransport(" in repr(transport)

    asyncio.run(use())
    assert mock.closed


def test_logs_the_same_lines_as_the_sync_transport(
    clock: FakeClock, sleeps: AsyncSleeps, caplog: pytest.LogCaptureFixture
) -> None:
    mock = AsyncMockTransport(
        scripted(TransportError("reset"), HttpResponse(503, "BODY-SECRET"), json_response({}))
    )
    times = iter([0.0, 0.25, 1.0, 1.5, 2.0, 2.125])
    transport = AsyncResilientTransport(
        mock,
        retry=RetryPolicy(max_attempts=3, backoff=0.5, jitter=lambda: 1.0, clock=clock),
        throttle=Throttle(clock, default_retry_after=60),
        sleep=sleeps,
        timer=lambda: next(times),
    )
    with caplog.at_level(logging.DEBUG, logger="tokensmith"):
        asyncio.run(transport.send(TOKEN))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("tokensmith")]
    where = "POST https://login.example/t/oauth2/v2.0/token"
    assert lines == [
        f"{where} attempt 1 -> TransportError after 0.250s; retrying in 0.500s",
        f"{where} attempt 2 -> 503 after 0.500s; retrying in 1.000s",
        f"{where} attempt 3 -> 200 after 0.125s",
    ]
