"""AsyncHttpClientTransport, ThreadedTransport and async_transport_for."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
import requests
from tests.unit.transport._fakes import FakeResponse

from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.transport import (
    AsyncHttpClientTransport,
    AsyncTransport,
    HttpClientTransport,
    HttpRequest,
    ThreadedTransport,
    async_transport_for,
)
from tokensmith.transport.mock import AsyncMockTransport, MockTransport, json_response

T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


class AsyncFakeClient:
    """An aiohttp/httpx-like client with coroutine ``get``/``post`` and ``aclose``."""

    def __init__(self, response: Any = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.response = response if response is not None else FakeResponse()
        self.error = error
        self.closed = 0

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self._answer("POST", url, kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self._answer("GET", url, kwargs)

    async def _answer(self, method: str, url: str, kwargs: dict[str, Any]) -> Any:
        await asyncio.sleep(0)
        self.calls.append((method, url, kwargs))
        if self.error:
            raise self.error
        return self.response

    async def aclose(self) -> None:
        self.closed += 1


class SyncFakeClient:
    def __init__(self) -> None:
        self.threads: list[int] = []
        self.closed = 0

    def get(self, url: str, **kwargs: Any) -> Any:
        self.threads.append(threading.get_ident())
        return FakeResponse(text=json.dumps({"url": url, **kwargs}))

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.get(url, **kwargs)

    def close(self) -> None:
        self.closed += 1


def test_post_passes_msal_style_arguments() -> None:
    client = AsyncFakeClient(FakeResponse(400, b'{"error":"x"}', {"Retry-After": "3"}))
    transport = AsyncHttpClientTransport(client, timeout=4.5)
    assert isinstance(transport, AsyncTransport)
    request = HttpRequest("POST", "https://login.example/token", data={"a": "1"})
    response = run(transport.send(request))
    assert client.calls == [
        (
            "POST",
            "https://login.example/token",
            {"params": None, "headers": {}, "timeout": 4.5, "data": {"a": "1"}},
        )
    ]
    assert (response.status_code, response.text) == (400, '{"error":"x"}')
    assert response.headers == {"retry-after": "3"}


def test_get_passes_params() -> None:
    client = AsyncFakeClient()
    run(AsyncHttpClientTransport(client).send(HttpRequest("GET", "https://x/", params={"q": "1"})))
    assert client.calls == [("GET", "https://x/", {"params": {"q": "1"}, "headers": {}})]


def test_client_exceptions_propagate_unchanged() -> None:
    original = requests.exceptions.ConnectionError("boom")
    transport = AsyncHttpClientTransport(AsyncFakeClient(error=original))
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        run(transport.send(HttpRequest("POST", "https://x/token", data={})))
    assert info.value is original


def test_malformed_response_and_bad_method() -> None:
    transport = AsyncHttpClientTransport(AsyncFakeClient(FakeResponse(status_code="200")))
    with pytest.raises(ProtocolError):
        run(transport.send(HttpRequest("GET", "https://x/")))
    with pytest.raises(ConfigurationError):
        run(transport.send(HttpRequest("PUT", "https://x/")))
    with pytest.raises(ConfigurationError):
        AsyncHttpClientTransport(object())


def test_a_sync_client_given_to_the_async_adapter_is_a_clear_error() -> None:
    transport = AsyncHttpClientTransport(SyncFakeClient())
    with pytest.raises(ConfigurationError, match="async_transport_for"):
        run(transport.send(HttpRequest("GET", "https://x/")))


def test_aclose_prefers_aclose_and_is_idempotent() -> None:
    client = AsyncFakeClient()

    async def main() -> None:
        async with AsyncHttpClientTransport(client) as transport:
            await transport.aclose()

    run(main())
    assert client.closed == 1


def test_aclose_falls_back_to_a_sync_or_async_close() -> None:
    class AsyncClose(AsyncFakeClient):
        aclose = None  # type: ignore[assignment]

        async def close(self) -> None:  # aiohttp.ClientSession's shape
            self.closed += 1

    class SyncClose(AsyncFakeClient):
        aclose = None  # type: ignore[assignment]

        def close(self) -> None:
            self.closed += 1

    for client in (AsyncClose(), SyncClose()):
        transport = AsyncHttpClientTransport(client)
        run(transport.aclose())
        run(transport.aclose())
        assert client.closed == 1


class CallableAsync:
    async def __call__(self, url: str, **kwargs: Any) -> Any:
        return FakeResponse()


class AsyncCallables:
    get = CallableAsync()
    post = CallableAsync()


async def _get(url: str, **kwargs: Any) -> Any:
    return FakeResponse()


class Partials:
    get = staticmethod(functools.partial(_get))
    post = staticmethod(functools.partial(_get))


@pytest.mark.parametrize("client", [AsyncFakeClient(), AsyncCallables(), Partials()])
def test_factory_picks_the_async_adapter(client: Any) -> None:
    transport = async_transport_for(client, timeout=3)
    assert isinstance(transport, AsyncHttpClientTransport)
    assert run(transport.send(HttpRequest("GET", "https://x/"))).status_code == 200


def test_factory_runs_a_sync_client_in_worker_threads() -> None:
    client = SyncFakeClient()
    transport = async_transport_for(client, timeout=3)
    assert isinstance(transport, ThreadedTransport)
    assert isinstance(transport.inner, HttpClientTransport)
    response = run(transport.send(HttpRequest("GET", "https://x/", params={"q": "1"})))
    assert json.loads(response.text)["timeout"] == 3
    assert client.threads and client.threads[0] != threading.get_ident()
    run(transport.aclose())
    run(transport.aclose())
    assert client.closed == 1


def test_factory_refuses_mixed_or_missing_methods() -> None:
    class Mixed:
        async def get(self, url: str, **kwargs: Any) -> Any:
            return FakeResponse()

        def post(self, url: str, **kwargs: Any) -> Any:
            return FakeResponse()

    with pytest.raises(ConfigurationError, match="one async"):
        async_transport_for(Mixed())
    with pytest.raises(ConfigurationError, match="get"):
        async_transport_for(object())


def test_threaded_transport_propagates_errors_unchanged() -> None:
    original = requests.exceptions.Timeout("slow")

    def fail(request: HttpRequest) -> Any:
        raise original

    inner = MockTransport(fail)

    async def main() -> None:
        async with ThreadedTransport(inner) as transport:
            assert isinstance(transport, AsyncTransport)
            await transport.send(HttpRequest("GET", "https://x/"))

    with pytest.raises(requests.exceptions.Timeout) as info:
        run(main())
    assert info.value is original
    assert inner.closed


def test_threaded_over_a_real_requests_session(http_server: Any) -> None:
    transport = async_transport_for(requests.Session(), timeout=10)

    async def main() -> list[Any]:
        try:
            return list(
                await asyncio.gather(
                    transport.send(HttpRequest("GET", f"{http_server.url}/a", params={"q": "a"})),
                    transport.send(HttpRequest("POST", f"{http_server.url}/b", data={"s": "1"})),
                )
            )
        finally:
            await transport.aclose()

    get, post = run(main())
    assert json.loads(get.text)["query"] == [["q", "a"]]
    assert json.loads(post.text)["body"] == "s=1"
    assert get.headers["x-mixed-case"] == "Yes"


def test_async_mock_transport_records_and_closes() -> None:
    mock = AsyncMockTransport(lambda request: json_response({"ok": True}))
    request = HttpRequest("GET", "https://x/")
    assert isinstance(mock, AsyncTransport)
    assert json.loads(run(mock.send(request)).text) == {"ok": True}
    run(mock.aclose())
    assert mock.requests == [request] and mock.closed
