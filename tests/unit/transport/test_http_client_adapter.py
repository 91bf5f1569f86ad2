"""HttpClientTransport with a fake MSAL-style client and with a real requests.Session."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from tests.unit.transport._fakes import FakeResponse

from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.transport import HttpClientTransport, HttpRequest, Transport


class FakeClient:
    """Records calls like MSAL's tests do; answers with a canned response."""

    def __init__(self, response: Any = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.response = response if response is not None else FakeResponse()
        self.error = error
        self.closed = 0

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any
    ) -> Any:
        self.calls.append(("POST", url, {"params": params, "data": data, "headers": headers, **kw}))
        if self.error:
            raise self.error
        return self.response

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
        self.calls.append(("GET", url, {"params": params, "headers": headers, **kw}))
        if self.error:
            raise self.error
        return self.response

    def close(self) -> None:
        self.closed += 1


def test_post_passes_msal_style_arguments() -> None:
    client = FakeClient(FakeResponse(400, '{"error":"invalid_grant"}', {"Retry-After": "3"}))
    transport = HttpClientTransport(client)
    assert isinstance(transport, Transport)
    request = HttpRequest(
        "POST",
        "https://login.example/t/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "refresh_token": "rt"},
        headers={"Accept": "application/json"},
    )
    response = transport.send(request)
    method, url, kwargs = client.calls[0]
    assert (method, url) == ("POST", request.url)
    assert kwargs == {
        "params": None,
        "data": {"grant_type": "refresh_token", "refresh_token": "rt"},
        "headers": {"Accept": "application/json"},
    }
    assert type(kwargs["data"]) is dict
    assert response.status_code == 400
    assert response.text == '{"error":"invalid_grant"}'
    assert response.headers == {"retry-after": "3"}


def test_get_passes_params_and_timeout() -> None:
    client = FakeClient()
    HttpClientTransport(client, timeout=4.5).send(
        HttpRequest("GET", "https://login.example/discovery", params={"api-version": "1.1"})
    )
    assert client.calls == [
        (
            "GET",
            "https://login.example/discovery",
            {"params": {"api-version": "1.1"}, "headers": {}, "timeout": 4.5},
        )
    ]


class StatusOnly:
    """An aiohttp-like response: ``status`` instead of ``status_code``, no headers."""

    status = 503
    text = "busy"


class ListHeaders:
    status_code = 200
    text = b"bytes body"
    headers = [("X-A", "1"), ("x-a", "2"), (b"X-B", b"3")]


@pytest.mark.parametrize(
    ("raw", "status", "text", "headers"),
    [
        (StatusOnly(), 503, "busy", {}),
        (ListHeaders(), 200, "bytes body", {"x-a": "1, 2", "x-b": "3"}),
        (FakeResponse(headers=None), 200, "{}", {}),
    ],
)
def test_response_shapes_are_normalised(raw: Any, status: int, text: str, headers: Any) -> None:
    response = HttpClientTransport(FakeClient(raw)).send(HttpRequest("GET", "https://x/"))
    assert (response.status_code, response.text, dict(response.headers)) == (status, text, headers)


@pytest.mark.parametrize("raw", [FakeResponse(status_code="200"), FakeResponse(text=None)])
def test_malformed_response_is_a_protocol_error(raw: Any) -> None:
    with pytest.raises(ProtocolError):
        HttpClientTransport(FakeClient(raw)).send(HttpRequest("GET", "https://x/"))


def test_client_exceptions_propagate_unchanged() -> None:
    original = requests.exceptions.ConnectionError("boom")
    transport = HttpClientTransport(FakeClient(error=original))
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        transport.send(HttpRequest("POST", "https://x/token", data={}))
    assert info.value is original


def test_close_calls_client_close_once() -> None:
    client = FakeClient()
    with HttpClientTransport(client) as transport:
        transport.close()
    assert client.closed == 1


def test_client_without_close_is_fine() -> None:
    class NoClose:
        def get(self, url: str, **kw: Any) -> Any:
            return FakeResponse()

        def post(self, url: str, **kw: Any) -> Any:
            return FakeResponse()

    transport = HttpClientTransport(NoClose())
    transport.close()
    transport.close()


def test_bad_client_and_method_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        HttpClientTransport(object())
    with pytest.raises(ConfigurationError):
        HttpClientTransport(FakeClient()).send(HttpRequest("PUT", "https://x/"))


def test_with_real_requests_session(http_server: Any) -> None:
    with HttpClientTransport(requests.Session(), timeout=10) as transport:
        get = transport.send(HttpRequest("GET", f"{http_server.url}/openid", params={"q": "a b"}))
        post = transport.send(
            HttpRequest("POST", f"{http_server.url}/token", data={"scope": "openid profile"})
        )
        refused = transport.send(HttpRequest("GET", f"{http_server.url}/status/429"))
    assert json.loads(get.text)["query"] == [["q", "a b"]]
    assert get.headers["x-mixed-case"] == "Yes"
    assert json.loads(post.text)["body"] == "scope=openid+profile"
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "7")


def test_requests_errors_propagate_from_real_session(refused_url: str) -> None:
    with (
        HttpClientTransport(requests.Session()) as transport,
        pytest.raises(requests.exceptions.ConnectionError),
    ):
        transport.send(HttpRequest("GET", refused_url))
