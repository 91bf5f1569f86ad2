"""ResilientTransport end to end over MockTransport, with a recording fake sleep."""

from __future__ import annotations

import logging

import pytest
from tests.unit.transport._fakes import TOKEN, Sleeps, scripted

from tokensmith._clock import FakeClock
from tokensmith.drivers.sync import run_flow
from tokensmith.errors import ProtocolError, TransportError, TransportTimeout
from tokensmith.protocol.effects import Flow
from tokensmith.transport import ResilientTransport, RetryPolicy, Throttle, Transport
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> Sleeps:
    return Sleeps(clock)


def build(
    mock: MockTransport, clock: FakeClock, sleeps: Sleeps, *, throttle: bool = True
) -> ResilientTransport:
    return ResilientTransport(
        mock,
        retry=RetryPolicy(max_attempts=3, backoff=0.5, jitter=lambda: 1.0, clock=clock),
        throttle=Throttle(clock, default_retry_after=60) if throttle else None,
        sleep=sleeps,
    )


def test_503_twice_then_success(clock: FakeClock, sleeps: Sleeps) -> None:
    ok = json_response({"access_token": "at"})
    mock = MockTransport(scripted(HttpResponse(503, "busy"), HttpResponse(503, "busy"), ok))
    transport = build(mock, clock, sleeps)
    assert isinstance(transport, Transport)
    assert transport.send(TOKEN) is ok
    assert len(mock.requests) == 3
    assert sleeps.delays == [0.5, 1.0]
    # A success is not remembered: the next identical call goes out again.
    mock.handler = scripted(ok)
    assert transport.send(TOKEN) is ok
    assert len(mock.requests) == 4


def test_503_three_times_returns_last_and_throttles(clock: FakeClock, sleeps: Sleeps) -> None:
    last = HttpResponse(503, "still busy", {"retry-after": "7"})
    mock = MockTransport(scripted(HttpResponse(503, "busy"), HttpResponse(503, "busy"), last))
    transport = build(mock, clock, sleeps)
    assert transport.send(TOKEN) is last
    assert len(mock.requests) == 3
    # MSAL's observed behaviour: the identical call within 7 s sees no traffic at all.
    clock.advance(6)
    assert transport.send(TOKEN) is last
    assert len(mock.requests) == 3
    clock.advance(1)
    mock.handler = scripted(json_response({}))
    assert transport.send(TOKEN).status_code == 200
    assert len(mock.requests) == 4


def test_429_with_retry_after_2_sleeps_2(clock: FakeClock, sleeps: Sleeps) -> None:
    ok = json_response({"access_token": "at"})
    throttled = HttpResponse(429, "Too Many Requests", {"retry-after": "2"})
    mock = MockTransport(scripted(throttled, ok))
    assert build(mock, clock, sleeps).send(TOKEN) is ok
    assert sleeps.delays == [2.0]


def test_retry_after_3600_is_not_waited_for(clock: FakeClock, sleeps: Sleeps) -> None:
    throttled = HttpResponse(429, "Too Many Requests", {"retry-after": "3600"})
    mock = MockTransport(scripted(throttled))
    transport = build(mock, clock, sleeps)
    assert transport.send(TOKEN) is throttled
    assert sleeps.delays == []
    assert len(mock.requests) == 1
    clock.advance(3599)
    assert transport.send(TOKEN) is throttled  # blocked by the throttle, no traffic
    assert len(mock.requests) == 1


def test_transport_error_retried_then_raised(clock: FakeClock, sleeps: Sleeps) -> None:
    errors = [TransportError("refused"), TransportTimeout("slow"), TransportError("last")]
    mock = MockTransport(scripted(*errors))
    transport = build(mock, clock, sleeps)
    with pytest.raises(TransportError) as info:
        transport.send(TOKEN)
    assert info.value is errors[-1]
    assert len(mock.requests) == 3
    assert sleeps.delays == [0.5, 1.0]
    assert len(transport.throttle or []) == 0  # nothing recorded without a response


def test_transport_error_then_success(clock: FakeClock, sleeps: Sleeps) -> None:
    ok = json_response({})
    mock = MockTransport(scripted(TransportTimeout("slow"), ok))
    assert build(mock, clock, sleeps).send(TOKEN) is ok
    assert sleeps.delays == [0.5]


def test_other_exceptions_are_not_retried(clock: FakeClock, sleeps: Sleeps) -> None:
    mock = MockTransport(scripted(ProtocolError("garbled")))
    with pytest.raises(ProtocolError):
        build(mock, clock, sleeps).send(TOKEN)
    assert len(mock.requests) == 1
    assert sleeps.delays == []


def test_400_is_returned_at_once_and_replayed(clock: FakeClock, sleeps: Sleeps) -> None:
    bad = json_response({"error": "invalid_grant"}, 400)
    mock = MockTransport(scripted(bad))
    transport = build(mock, clock, sleeps)
    assert transport.send(TOKEN) is bad
    assert transport.send(TOKEN) is bad
    assert len(mock.requests) == 1
    assert sleeps.delays == []


def test_without_retry_or_throttle_it_is_a_pass_through(clock: FakeClock) -> None:
    busy = HttpResponse(503, "busy")
    mock = MockTransport(scripted(busy, busy))
    transport = ResilientTransport(mock, retry=None, throttle=None, sleep=clock.sleep)
    assert transport.send(TOKEN) is busy
    assert transport.send(TOKEN) is busy
    assert len(mock.requests) == 2


def test_close_and_context_manager_close_inner(clock: FakeClock, sleeps: Sleeps) -> None:
    mock = MockTransport(scripted())
    with build(mock, clock, sleeps):
        pass
    assert mock.closed


def test_runs_under_the_sync_driver(clock: FakeClock, sleeps: Sleeps) -> None:
    def flow() -> Flow[int]:
        response = yield TOKEN
        assert response is not None
        return response.status_code

    mock = MockTransport(scripted(HttpResponse(500, "x"), json_response({})))
    assert run_flow(flow(), build(mock, clock, sleeps), sleep=clock.sleep) == 200


def test_logs_attempts_without_secrets(
    clock: FakeClock, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    request = HttpRequest(
        "POST",
        "https://user:PASS-SECRET@login.example/t/token?p=URL-SECRET",
        params={"q": "PARAM-SECRET"},
        data=TOKEN.data,
        headers=TOKEN.headers,
    )
    mock = MockTransport(
        scripted(
            TransportError("reset"),
            HttpResponse(503, "BODY-SECRET"),
            json_response({"access_token": "AT-SECRET"}),
        )
    )
    with caplog.at_level(logging.DEBUG, logger="tokensmith"):
        build(mock, clock, sleeps).send(request)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("tokensmith")]
    assert len(lines) == 3
    assert "POST https://login.example/t/token?p=…&q=… attempt 1 -> TransportError" in lines[0]
    assert "attempt 2 -> 503" in lines[1] and "retrying in 1.000s" in lines[1]
    assert "attempt 3 -> 200" in lines[2]
    text = "\n".join(lines)
    for secret in (
        "PASS-SECRET",
        "URL-SECRET",
        "PARAM-SECRET",
        "RT-SECRET",
        "HEADER-SECRET",
        "BODY-SECRET",
        "AT-SECRET",
        "user",
    ):
        assert secret not in text
