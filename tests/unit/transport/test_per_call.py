"""``HttpRequest.per_call``: an acquire call's transport keywords, as each transport
carries them (the MSAL-style ``http_client`` adapters pass them verbatim, the httpx
transports read the timeout), capped by the call's deadline like the app's own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.unit.transport._fakes import FakeResponse

from tokensmith.protocol.http import CallOptions, check_timeout
from tokensmith.transport import (
    AsyncHttpClientTransport,
    AsyncHttpxTransport,
    HttpClientTransport,
    HttpRequest,
    HttpxTransport,
)
from tokensmith.transport import deadline as _deadline

URL = "https://login.example/tenant/oauth2/v2.0/token"
OPTIONS = CallOptions(timeout=(2.0, 7.0), extra={"verify": False, "proxies": {"https": "p"}})


def _request(options: CallOptions | None = OPTIONS) -> HttpRequest:
    return HttpRequest("POST", URL, {"slice": "s"}, {"grant_type": "x"}, {}, per_call=options)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get(self, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append(kwargs)
        return FakeResponse(200, "{}")

    def post(self, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append(kwargs)
        return FakeResponse(200, "{}")


class AsyncRecorder(Recorder):
    async def get(self, url: str, **kwargs: Any) -> FakeResponse:  # type: ignore[override]
        return Recorder.get(self, url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> FakeResponse:  # type: ignore[override]
        return Recorder.post(self, url, **kwargs)


def _extra(call: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in call.items() if k not in ("params", "data", "headers")}


def test_the_http_client_adapters_pass_the_keywords_verbatim() -> None:
    sync, asynchronous = Recorder(), AsyncRecorder()
    HttpClientTransport(sync, timeout=30).send(_request())
    asyncio.run(AsyncHttpClientTransport(asynchronous, timeout=30).send(_request()))
    expected = {"timeout": (2.0, 7.0), "verify": False, "proxies": {"https": "p"}}
    assert [_extra(c) for c in sync.calls + asynchronous.calls] == [expected, expected]
    assert sync.calls[0]["params"] == {"slice": "s"}
    HttpClientTransport(sync, timeout=30).send(_request(None))
    assert _extra(sync.calls[-1]) == {"timeout": 30}  # a request without: the app's own


def test_the_per_call_timeout_is_capped_by_the_calls_deadline() -> None:
    client = Recorder()
    with _deadline.opened(1.0):
        HttpClientTransport(client).send(_request(CallOptions(timeout=60.0)))
    assert 0 < client.calls[0]["timeout"] <= 1.0


def _seen(requests: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, text="{}")

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("options", "connect", "read"),
    [(OPTIONS, 2.0, 7.0), (CallOptions(timeout=4.0), 4.0, 4.0), (None, 30.0, 30.0)],
)
def test_the_httpx_transports_read_the_timeout(
    options: CallOptions | None, connect: float, read: float
) -> None:
    seen: list[httpx.Request] = []
    HttpxTransport(client=httpx.Client(transport=_seen(seen), timeout=30.0)).send(_request(options))

    async def main() -> None:
        async with httpx.AsyncClient(transport=_seen(seen), timeout=30.0) as client:
            await AsyncHttpxTransport(client=client).send(_request(options))

    asyncio.run(main())
    for request in seen:
        timeout = request.extensions["timeout"]
        assert (timeout["connect"], timeout["read"]) == (connect, read)
        assert request.url.params["slice"] == "s"


@pytest.mark.parametrize("bad", [0, -1.5, "7", True, (1, 2, 3), (1, None), float("nan")])
def test_a_bad_timeout_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        check_timeout(bad)


def test_the_options_repr_names_no_value() -> None:
    text = repr(CallOptions(timeout=3.0, extra={"auth": ("user", "hunter2")}))
    assert "hunter2" not in text and "auth" in text
