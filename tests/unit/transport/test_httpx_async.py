"""AsyncHttpxTransport against the real loopback servers of conftest.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from tokensmith.errors import ConfigurationError, TransportError, TransportTimeout
from tokensmith.transport import AsyncHttpxTransport, AsyncTransport, HttpRequest, HttpResponse

T = TypeVar("T")


def run(use: Callable[[AsyncHttpxTransport], Awaitable[T]], **kwargs: Any) -> T:
    """Open a transport with ``kwargs``, run ``use`` on it in a fresh loop, close it."""

    async def main() -> T:
        async with AsyncHttpxTransport(**kwargs) as transport:
            return await use(transport)

    return asyncio.run(main())


def send(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return run(lambda transport: transport.send(request), **kwargs)


def _echo(response: HttpResponse) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.text)
    return body


def test_is_an_async_transport() -> None:
    async def check(transport: AsyncHttpxTransport) -> None:
        assert isinstance(transport, AsyncTransport)
        assert repr(transport) == "AsyncHttpxTransport(open)"

    run(check)


def test_get_with_params_merges_url_query(http_server: Any) -> None:
    request = HttpRequest(
        "GET",
        f"{http_server.url}/discover?api-version=1.1",
        params={"b": "two words"},
        headers={"Accept": "application/json"},
    )
    echo = _echo(send(request))
    assert echo["method"] == "GET"
    assert echo["query"] == [["api-version", "1.1"], ["b", "two words"]]
    assert echo["headers"]["accept"] == "application/json"


def test_post_form_and_lowercased_response_headers(http_server: Any) -> None:
    request = HttpRequest("POST", f"{http_server.url}/token", data={"refresh_token": "rt&=+ é"})
    response = send(request)
    echo = _echo(response)
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(echo["body"])) == {"refresh_token": "rt&=+ é"}
    assert response.headers["x-mixed-case"] == "Yes"


def test_non_2xx_is_returned_not_raised(http_server: Any) -> None:
    response = send(HttpRequest("POST", f"{http_server.url}/status/429"))
    assert (response.status_code, response.text) == (429, "Too Many Requests")
    assert response.headers["retry-after"] == "7"


def test_concurrent_sends_share_one_client(http_server: Any) -> None:
    async def many(transport: AsyncHttpxTransport) -> list[HttpResponse]:
        requests = [HttpRequest("GET", f"{http_server.url}/n{i}") for i in range(5)]
        return list(await asyncio.gather(*(transport.send(r) for r in requests)))

    paths = sorted(_echo(response)["path"] for response in run(many))
    assert paths == [f"/n{i}" for i in range(5)]


def test_read_timeout_maps_to_transport_timeout(http_server: Any) -> None:
    request = HttpRequest("GET", f"{http_server.url}/slow", params={"code": "sekrit-code"})
    with pytest.raises(TransportTimeout) as info:
        send(request, timeout=(5.0, 0.3))
    assert "127.0.0.1" in str(info.value)
    assert "sekrit-code" not in str(info.value)
    assert info.value.retryable


def test_connection_refused_maps_to_transport_error(refused_url: str) -> None:
    request = HttpRequest(
        "POST", f"{refused_url}/token", params={"p": "q-secret"}, data={"s": "body-secret"}
    )
    with pytest.raises(TransportError) as info:
        send(request)
    assert not isinstance(info.value, TransportTimeout)
    assert refused_url.removeprefix("http://") in str(info.value)
    assert "q-secret" not in str(info.value) and "body-secret" not in str(info.value)
    assert info.value.__cause__ is None


def test_https_with_ca_bundle_path_and_default_verify(https_server: Any, pki: Any) -> None:
    request = HttpRequest("GET", f"{https_server.url}/tls")
    assert _echo(send(request, verify=str(pki.ca_path)))["path"] == "/tls"
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        send(request)


def test_proxy_mapping_mounts_async_transports(http_server: Any, refused_url: str) -> None:
    request = HttpRequest("GET", "http://login.example.invalid/common/x", params={"a": "1"})
    response = send(request, proxies={"http": http_server.url})
    assert _echo(response)["path"] == "http://login.example.invalid/common/x?a=1"
    proxies = {"all": refused_url, "no_proxy": "127.0.0.1"}
    direct = send(HttpRequest("GET", f"{http_server.url}/direct"), proxies=proxies)
    assert _echo(direct)["path"] == "/direct"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify": "/nonexistent/ca.pem"},
        {"proxies": {"ftp": "http://proxy:3128"}},
        {"timeout": -1},
        {"client": object()},
    ],
)
def test_bad_arguments_raise_configuration_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        AsyncHttpxTransport(**kwargs)


def test_a_sync_client_is_refused() -> None:
    with httpx.Client() as client, pytest.raises(ConfigurationError, match="AsyncClient"):
        AsyncHttpxTransport(client=client)  # type: ignore[arg-type]


def test_own_client_is_used_and_left_open(http_server: Any) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(headers={"X-From-Client": "1"}) as client:
            transport = AsyncHttpxTransport(client=client)
            response = await transport.send(HttpRequest("GET", http_server.url))
            assert _echo(response)["headers"]["x-from-client"] == "1"
            await transport.aclose()
            assert not client.is_closed
            with pytest.raises(ConfigurationError):
                AsyncHttpxTransport(client=client, verify=False)

    asyncio.run(main())


def test_aclose_is_idempotent_and_send_after_close_is_clear(http_server: Any) -> None:
    async def main() -> None:
        transport = AsyncHttpxTransport()
        await transport.aclose()
        await transport.aclose()
        assert repr(transport) == "AsyncHttpxTransport(closed)"
        with pytest.raises(ConfigurationError, match="AsyncHttpxTransport is closed"):
            await transport.send(HttpRequest("GET", http_server.url))

    asyncio.run(main())


def test_unsupported_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="URL cannot be sent"):
        send(HttpRequest("GET", "ftp://127.0.0.1/x"))


@pytest.mark.parametrize("headers", [{"X-Inject": "a\r\nEvil: 1"}, {"Bad Name": "1"}])
def test_bad_headers_are_configuration_errors(http_server: Any, headers: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        send(HttpRequest("GET", http_server.url, headers=headers))
    assert "Evil" not in str(info.value)
    assert http_server.seen == []


def test_import_does_not_load_httpx() -> None:
    code = (
        "import sys, tokensmith.transport as t, tokensmith.transport.httpx_async;"
        "t.AsyncHttpxTransport; t.AsyncResilientTransport; t.AsyncHttpClientTransport;"
        "t.ThreadedTransport; t.async_transport_for; t.AsyncTransport;"
        "assert 'httpx' not in sys.modules, 'httpx imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
