"""The per-call deadline against a real loopback server that drips its body.

The drip sends one byte every 1.5 s: every read succeeds well inside the read timeout,
so only the deadline can end the call. The bound is 2 s; a sync read may overrun it by
one drip interval (the clock is checked between reads), an async send not at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from tokensmith.errors import ConfigurationError, TransportError, TransportTimeout
from tokensmith.transport import (
    AsyncHttpxTransport,
    AsyncResilientTransport,
    HttpClientTransport,
    HttpRequest,
    HttpResponse,
    HttpxTransport,
    ResilientTransport,
    RetryPolicy,
)
from tokensmith.transport import deadline as dl

BOUND = 2.0
SYNC_SLACK = 1.5 + 1.0  # one drip interval, plus a generous margin for a busy machine
ASYNC_SLACK = 1.0


def _drip(url: str, every: float = 1.5, count: int = 30) -> HttpRequest:
    return HttpRequest("GET", f"{url}/drip", params={"every": str(every), "bytes": str(count)})


def _timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def test_sync_httpx_stops_a_dripping_body_at_the_deadline(http_server: Any) -> None:
    def call() -> None:
        with HttpxTransport(timeout=(2.0, 2.0)) as transport, dl.opened(BOUND):
            transport.send(_drip(http_server.url))

    error, elapsed = _timed(call)
    assert isinstance(error, TransportTimeout)
    assert "exceeded the call's deadline of 2 s" in str(error)
    assert "GET to 127.0.0.1" in str(error)
    assert BOUND - 0.1 <= elapsed < BOUND + SYNC_SLACK


def test_async_httpx_stops_a_dripping_body_at_the_deadline(http_server: Any) -> None:
    async def main() -> None:
        async with AsyncHttpxTransport(timeout=(2.0, 2.0)) as transport:
            with dl.opened(BOUND):
                await transport.send(_drip(http_server.url))

    error, elapsed = _timed(lambda: asyncio.run(main()))
    assert isinstance(error, TransportTimeout)
    assert "deadline of 2 s" in str(error)
    assert BOUND - 0.1 <= elapsed < BOUND + SYNC_SLACK


def test_async_resilient_cancels_the_send_at_the_deadline(http_server: Any) -> None:
    """Through the async stack the bound is strict: the send is cancelled at it."""

    async def main() -> None:
        inner = AsyncHttpxTransport(timeout=(2.0, 2.0))
        async with AsyncResilientTransport(inner, retry=RetryPolicy(), throttle=None) as stack:
            with dl.opened(BOUND):
                await stack.send(_drip(http_server.url, every=0.4))

    error, elapsed = _timed(lambda: asyncio.run(main()))
    assert isinstance(error, TransportTimeout)
    assert BOUND - 0.1 <= elapsed < BOUND + ASYNC_SLACK


def test_without_a_deadline_a_slow_body_still_arrives(http_server: Any) -> None:
    """Today's behaviour is kept: timeouts are per read, a short drip completes."""
    with HttpxTransport(timeout=(2.0, 2.0)) as transport:
        response = transport.send(_drip(http_server.url, every=0.2, count=4))
    assert (response.status_code, response.text) == (200, "    ")


def test_a_normal_server_answers_within_the_default_deadline(http_server: Any) -> None:
    with HttpxTransport() as transport, dl.opened(dl.DEFAULT_DEADLINE):
        response = transport.send(HttpRequest("GET", f"{http_server.url}/echo"))
    assert response.status_code == 200
    assert dl.current() is None  # the window is closed again


class _Refused:
    """A transport whose every send fails as a refused connection would."""

    def __init__(self) -> None:
        self.sends = 0

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sends += 1
        raise TransportError("connection refused")

    def close(self) -> None:
        pass


def test_retries_stop_at_the_deadline() -> None:
    inner = _Refused()
    retry = RetryPolicy(max_attempts=1000, backoff=0.25, max_backoff=0.25, jitter=lambda: 1.0)
    stack = ResilientTransport(inner, retry=retry, throttle=None)

    def call() -> None:
        with dl.opened(BOUND):
            stack.send(HttpRequest("POST", "https://login.example/token"))

    error, elapsed = _timed(call)
    assert isinstance(error, TransportError)
    assert elapsed < BOUND + 0.5
    assert 3 <= inner.sends <= BOUND / 0.25 + 1


def test_a_retry_wait_past_the_deadline_is_not_slept() -> None:
    inner = _Refused()
    slept: list[float] = []
    retry = RetryPolicy(max_attempts=5, backoff=5.0, jitter=lambda: 1.0)
    stack = ResilientTransport(inner, retry=retry, throttle=None, sleep=slept.append)
    with dl.opened(BOUND), pytest.raises(TransportError, match=r"connection refused"):
        stack.send(HttpRequest("POST", "https://login.example/token"))
    assert (inner.sends, slept) == (1, [])


def test_no_attempt_starts_past_the_deadline() -> None:
    inner = _Refused()
    stack = ResilientTransport(inner, retry=None, throttle=None)
    now = [0.0]
    with dl.opened(BOUND, timer=lambda: now[0]):
        now[0] = BOUND
        with pytest.raises(TransportTimeout, match=r"POST to login\.example exceeded"):
            stack.send(HttpRequest("POST", "https://login.example/token"))
    assert inner.sends == 0


def test_http_client_adapter_passes_the_time_left() -> None:
    seen: list[float] = []

    class Client:
        def get(self, url: str, **kwargs: Any) -> Any:
            seen.append(kwargs["timeout"])
            return type("R", (), {"status_code": 200, "text": "{}", "headers": {}})()

        post = get

    transport = HttpClientTransport(Client(), timeout=30.0)
    transport.send(HttpRequest("GET", "https://login.example/x"))
    with dl.opened(BOUND):
        transport.send(HttpRequest("GET", "https://login.example/x"))
    assert seen[0] == 30.0
    assert 0 < seen[1] <= BOUND


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "120"])
def test_deadline_argument_is_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="deadline"):
        dl.check_deadline(bad)


def _app_kwargs(url: str) -> dict[str, Any]:
    return {
        "client_credential": "secret",
        "oidc_authority": f"{url}/oidc",
        "timeout": (2.0, 2.0),
        "deadline": BOUND,
    }


def test_confidential_app_call_is_bounded(http_server: Any) -> None:
    from tokensmith import ConfidentialClientApplication

    app = ConfidentialClientApplication("client", **_app_kwargs(http_server.url))
    with app:
        error, elapsed = _timed(lambda: app.acquire_token_for_client(["api://x/.default"]))
    assert isinstance(error, TransportTimeout), error
    assert "deadline of 2 s" in str(error)
    assert elapsed < BOUND + SYNC_SLACK


def test_async_confidential_app_call_is_bounded(http_server: Any) -> None:
    from tokensmith.aio import ConfidentialClientApplication

    async def main() -> None:
        async with ConfidentialClientApplication("client", **_app_kwargs(http_server.url)) as app:
            await app.acquire_token_for_client(["api://x/.default"])

    error, elapsed = _timed(lambda: asyncio.run(main()))
    assert isinstance(error, TransportTimeout), error
    assert elapsed < BOUND + ASYNC_SLACK


class _Recording:
    """A transport that answers 200 and notes the time the deadline leaves."""

    def __init__(self) -> None:
        self.left: list[float] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        deadline = dl.current()
        assert deadline is not None
        self.left.append(deadline.remaining())
        return HttpResponse(200, "{}", {})

    def close(self) -> None:
        pass


def test_waiting_for_the_user_restarts_the_deadline() -> None:
    from tokensmith.drivers.sync import run_flow
    from tokensmith.protocol.effects import Sleep

    def flow() -> Any:
        for _ in range(3):  # 1.2 s of polling intervals, past the 0.5 s bound
            yield Sleep(0.4, waits_for_user=True)
        yield HttpRequest("POST", "https://login.example/token")
        return "done"

    transport = _Recording()
    assert run_flow(flow(), transport, time.sleep, deadline=0.5) == "done"
    assert 0.3 < transport.left[0] <= 0.5
    assert dl.current() is None


def test_a_flow_retry_wait_past_the_deadline_is_refused() -> None:
    from tokensmith.drivers.sync import run_flow
    from tokensmith.protocol.effects import Sleep

    slept: list[float] = []

    def flow() -> Any:
        yield Sleep(5.0)  # managed identity's own retry delay
        return "slept"

    with pytest.raises(TransportTimeout, match=r"waiting 5 s to retry exceeded"):
        run_flow(flow(), _Recording(), slept.append, deadline=BOUND)
    assert slept == []
    assert run_flow(flow(), _Recording(), slept.append) == "slept"  # no bound: sleeps
