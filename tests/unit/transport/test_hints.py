"""Failures that say what to do (tokensmith.transport.hints): the step, the URL shape
and a hint, against real sockets on loopback; certificate and plain-http failures are
final at once (not retried)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import tokensmith
from tokensmith.devidp import DevIdP
from tokensmith.errors import TransportError
from tokensmith.protocol.http import HttpRequest
from tokensmith.transport.hints import explain, step_of
from tokensmith.transport.httpx_transport import HttpxTransport

DESKTOP = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"


@pytest.fixture(scope="module")
def idp() -> Iterator[DevIdP]:
    with DevIdP() as running:
        yield running


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ("/common/discovery/instance", "instance discovery"),
        ("/t/v2.0/.well-known/openid-configuration", "OpenID discovery"),
        ("/t/oauth2/v2.0/token", "token request"),
        ("/adfs/oauth2/token", "token request"),
        ("/t/oauth2/v2.0/devicecode", "device authorization"),
        ("/common/userrealm/ada@x", "user realm discovery"),
        ("/t/discovery/v2.0/keys", "key set (JWKS) request"),
        ("/somewhere", "request"),
    ],
)
def test_the_step_is_named_from_the_path(path: str, step: str) -> None:
    assert step_of("https://login.example" + path) == step


def test_refused_connection_asks_whether_the_provider_runs() -> None:
    port = _closed_port()
    url = f"https://127.0.0.1:{port}/t/v2.0/.well-known/openid-configuration"
    with HttpxTransport() as transport, pytest.raises(TransportError) as info:
        transport.send(HttpRequest("GET", url))
    message = str(info.value)
    assert message.startswith(f"OpenID discovery (GET {url}) failed: ConnectError")
    assert f"is the identity provider running at 127.0.0.1:{port}?" in message
    assert info.value.retryable  # it may be starting up


def test_untrusted_certificate_hints_at_verify(idp: DevIdP) -> None:
    url = f"{idp.base_url}/organizations/oauth2/v2.0/token"
    with HttpxTransport() as transport, pytest.raises(TransportError) as info:
        transport.send(HttpRequest("POST", url, data={"client_secret": "s3cret-value"}))
    message = str(info.value)
    assert message.startswith(f"token request (POST {url}) failed")
    assert "verify='<CA bundle .pem>'" in message and "REQUESTS_CA_BUNDLE" in message
    assert "s3cret-value" not in message and not info.value.retryable


def test_plain_http_to_an_https_provider_fails_at_once_with_the_https_rule(idp: DevIdP) -> None:
    authority = idp.authority("organizations").replace("https://", "http://")
    app = tokensmith.PublicClientApplication(DESKTOP, authority=authority)
    with pytest.raises(TransportError) as info:
        app.initiate_device_flow(["User.Read"])
    message = str(info.value)
    assert message.startswith("OpenID discovery (GET http://127.0.0.1:")
    assert "use an https:// authority" in message and not info.value.retryable


def test_the_user_is_not_named_in_a_user_realm_failure() -> None:
    request = HttpRequest(
        "GET", "https://login.example/common/userrealm/ada@contoso.example", params={"v": "1"}
    )
    explained = explain(request, "ConnectError", "[Errno -2] Name or service not known")
    assert "ada@contoso" not in explained.message
    assert "the host name login.example was not found" in explained.message
    assert not explained.retryable
