"""HttpxTransport against real loopback servers (HTTP, HTTPS with a test CA)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tokensmith.errors import ConfigurationError, TransportError, TransportTimeout
from tokensmith.transport import HttpRequest, HttpxTransport, Transport
from tokensmith.transport.httpx_transport import DEFAULT_TIMEOUT


def _echo(response_text: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response_text)
    return body


def test_is_a_transport() -> None:
    with HttpxTransport() as transport:
        assert isinstance(transport, Transport)
    assert DEFAULT_TIMEOUT == (10.0, 30.0)


def test_get_with_params_merges_url_query(http_server: Any) -> None:
    request = HttpRequest(
        "GET",
        f"{http_server.url}/discover?api-version=1.1",
        params={"authorization_endpoint": "https://x/authorize", "b": "two words"},
        headers={"Accept": "application/json"},
    )
    with HttpxTransport() as transport:
        response = transport.send(request)
    assert response.status_code == 200
    echo = _echo(response.text)
    assert echo["method"] == "GET"
    assert echo["query"] == [
        ["api-version", "1.1"],
        ["authorization_endpoint", "https://x/authorize"],
        ["b", "two words"],
    ]
    assert echo["headers"]["accept"] == "application/json"
    assert echo["body"] == ""


def test_post_form_and_lowercased_response_headers(http_server: Any) -> None:
    request = HttpRequest(
        "POST",
        f"{http_server.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": "rt&=+ é"},
        headers={"X-Client-SKU": "tokensmith"},
    )
    with HttpxTransport() as transport:
        response = transport.send(request)
    echo = _echo(response.text)
    assert echo["method"] == "POST"
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert echo["headers"]["x-client-sku"] == "tokensmith"
    assert dict(httpx.QueryParams(echo["body"])) == dict(request.data or {})
    assert response.headers["x-mixed-case"] == "Yes"
    assert response.headers["content-type"] == "application/json"
    assert all(name == name.lower() for name in response.headers)


def test_non_2xx_is_returned_not_raised(http_server: Any) -> None:
    with HttpxTransport() as transport:
        response = transport.send(HttpRequest("POST", f"{http_server.url}/status/429"))
    assert response.status_code == 429
    assert response.text == "Too Many Requests"
    assert response.headers["retry-after"] == "7"


@pytest.mark.parametrize("timeout", [0.3, (5.0, 0.3)])
def test_read_timeout_maps_to_transport_timeout(http_server: Any, timeout: Any) -> None:
    request = HttpRequest("GET", f"{http_server.url}/slow", params={"code": "sekrit-code"})
    with HttpxTransport(timeout=timeout) as transport, pytest.raises(TransportTimeout) as info:
        transport.send(request)
    message = str(info.value)
    assert "127.0.0.1" in message
    assert "sekrit-code" not in message
    assert info.value.retryable


def test_connection_refused_maps_to_transport_error(refused_url: str) -> None:
    request = HttpRequest(
        "POST",
        f"{refused_url}/token",
        params={"p": "query-secret-value"},
        data={"client_secret": "body-secret-value"},
    )
    with HttpxTransport() as transport, pytest.raises(TransportError) as info:
        transport.send(request)
    assert not isinstance(info.value, TransportTimeout)
    message = str(info.value)
    assert refused_url.removeprefix("http://") in message
    assert "query-secret-value" not in message
    assert "body-secret-value" not in message
    assert info.value.__cause__ is None


def test_https_with_ca_bundle_path(https_server: Any, pki: Any) -> None:
    with HttpxTransport(verify=str(pki.ca_path)) as transport:
        response = transport.send(HttpRequest("GET", f"{https_server.url}/tls"))
    assert response.status_code == 200
    assert _echo(response.text)["path"] == "/tls"


def test_https_with_default_verify_fails(https_server: Any) -> None:
    with HttpxTransport() as transport, pytest.raises(TransportError) as info:
        transport.send(HttpRequest("GET", f"{https_server.url}/tls"))
    assert "127.0.0.1" in str(info.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


def test_verify_false_skips_tls_checks(https_server: Any) -> None:
    with HttpxTransport(verify=False) as transport:
        assert transport.send(HttpRequest("GET", https_server.url)).status_code == 200


def test_proxy_mapping_routes_through_proxy(http_server: Any) -> None:
    # The echo server doubles as a forward proxy: it sees the absolute-form target.
    request = HttpRequest("GET", "http://login.example.invalid/common/x", params={"a": "1"})
    with HttpxTransport(proxies={"http": http_server.url}) as transport:
        response = transport.send(request)
    assert _echo(response.text)["path"] == "http://login.example.invalid/common/x?a=1"
    with HttpxTransport(proxies=http_server.url) as transport:
        response = transport.send(request)
    assert _echo(response.text)["path"].startswith("http://login.example.invalid/")


def test_no_proxy_bypasses_the_proxy(http_server: Any, refused_url: str) -> None:
    proxies = {"all": refused_url, "no_proxy": "127.0.0.1, .example.invalid"}
    with HttpxTransport(proxies=proxies) as transport:
        response = transport.send(HttpRequest("GET", f"{http_server.url}/direct"))
    assert _echo(response.text)["path"] == "/direct"


def test_unreachable_proxy_is_a_transport_error(refused_url: str) -> None:
    with (
        HttpxTransport(proxies={"https": refused_url}) as transport,
        pytest.raises(TransportError) as info,
    ):
        transport.send(HttpRequest("GET", "https://login.example.invalid/x"))
    assert "login.example.invalid" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify": "/nonexistent/ca.pem"},
        {"verify": 3},
        {"proxies": {"ftp": "http://proxy:3128"}},
        {"proxies": {"https": "ftp://proxy"}},
        {"proxies": ["http://proxy:3128"]},
        {"timeout": -1},
        {"timeout": (1.0, 2.0, 3.0)},
        {"timeout": "10"},
        {"client": object()},
    ],
)
def test_bad_arguments_raise_configuration_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        HttpxTransport(**kwargs)


def test_verify_path_that_is_not_a_ca(tmp_path: Any) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ConfigurationError):
        HttpxTransport(verify=str(bogus))


def test_own_client_is_used_and_left_open(http_server: Any) -> None:
    with httpx.Client(headers={"X-From-Client": "1"}) as client:
        transport = HttpxTransport(client=client)
        echo = _echo(transport.send(HttpRequest("GET", http_server.url)).text)
        assert echo["headers"]["x-from-client"] == "1"
        transport.close()
        assert not client.is_closed
        with pytest.raises(ConfigurationError):
            HttpxTransport(client=client, verify=False)


def test_close_is_idempotent_and_send_after_close_is_clear(http_server: Any) -> None:
    transport = HttpxTransport()
    transport.close()
    transport.close()
    with pytest.raises(ConfigurationError, match="closed"):
        transport.send(HttpRequest("GET", http_server.url))


def test_unsupported_scheme_is_a_configuration_error() -> None:
    with HttpxTransport() as transport, pytest.raises(ConfigurationError):
        transport.send(HttpRequest("GET", "ftp://example.invalid/x"))


def test_import_does_not_load_httpx() -> None:
    code = (
        "import sys, tokensmith.transport as t, tokensmith.transport.httpx_transport;"
        "assert 'httpx' not in sys.modules, 'httpx imported';"
        "t.HttpxTransport; t.RetryPolicy; t.Throttle; t.ResilientTransport;"
        "assert 'httpx' not in sys.modules, 'httpx imported by lazy names'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "headers", [{"X-Name": "caf\u00e9 \u20ac"}, {"X-Inject": "a\r\nEvil: 1"}, {"Bad Name": "1"}]
)
def test_bad_headers_are_configuration_errors(http_server: Any, headers: dict[str, str]) -> None:
    with HttpxTransport() as transport, pytest.raises(ConfigurationError) as info:
        transport.send(HttpRequest("GET", http_server.url, headers=headers))
    assert "Evil" not in str(info.value)
    assert http_server.seen == []
