"""Entra instance discovery flows: authority validation (1.0) and alias metadata (1.1)."""

from __future__ import annotations

import pytest
from tests.unit.authority.fake_server import FakeServer

from tokensmith.authority import parse_authority
from tokensmith.drivers.sync import run_flow
from tokensmith.entra.hosts import AliasGroup
from tokensmith.entra.instance_discovery import (
    aliases_for,
    fetch_alias_metadata,
    parse_alias_metadata,
    validate_instance,
)
from tokensmith.errors import AuthorityError, MsalServiceError, ProtocolError, TransportError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

ENDPOINT = "https://login.microsoftonline.com/common/discovery/instance"
TDE = "https://login.microsoftonline.com/7d3f/v2.0/.well-known/openid-configuration"
INVALID = {
    "error": "invalid_instance",
    "error_description": "AADSTS50049: Unknown or invalid instance.",
    "error_codes": [50049],
}
METADATA = {
    "tenant_discovery_endpoint": TDE,
    "api-version": "1.1",
    "metadata": [
        {
            "preferred_network": "login.microsoftonline.com",
            "preferred_cache": "login.windows.net",
            "aliases": ["login.microsoftonline.com", "login.windows.net", "Login.Microsoft.com"],
        },
        {"aliases": ["login.fabrikam.example"]},
    ],
}


def _validate(server: FakeServer, authority: str = "https://login.fabrikam.example/7d3f") -> str:
    return run_flow(validate_instance(parse_authority(authority)), server.transport)


def test_validation_request_and_result(server: FakeServer) -> None:
    server.add(ENDPOINT, {"tenant_discovery_endpoint": TDE})
    assert _validate(server) == TDE
    (request,) = server.transport.requests
    assert request.method == "GET"
    assert request.url == ENDPOINT
    assert request.params == {
        "api-version": "1.0",
        "authorization_endpoint": "https://login.fabrikam.example/7d3f/oauth2/v2.0/authorize",
    }


def test_invalid_instance_advises_turning_the_check_off(server: FakeServer) -> None:
    server.add(ENDPOINT, json_response(INVALID, 400))
    with pytest.raises(AuthorityError, match="instance_discovery=False") as info:
        _validate(server)
    assert "invalid_instance" in str(info.value)
    assert "https://login.fabrikam.example/7d3f" in str(info.value)


def test_custom_endpoint(server: FakeServer) -> None:
    custom = "https://discovery.fabrikam.example/instance"
    server.add(custom, {"tenant_discovery_endpoint": TDE})
    spec = parse_authority("https://login.fabrikam.example/7d3f", instance_discovery=custom)
    assert run_flow(validate_instance(spec), server.transport) == TDE
    assert server.urls == [custom]


def test_loopback_authority_with_a_local_discovery_endpoint(server: FakeServer) -> None:
    local = "http://127.0.0.1:8400/common/discovery/instance"
    server.add(local, {"tenant_discovery_endpoint": "http://127.0.0.1:8400/t/v2.0/x"})
    spec = parse_authority("http://127.0.0.1:8400/t", instance_discovery=local)
    assert run_flow(validate_instance(spec), server.transport) == "http://127.0.0.1:8400/t/v2.0/x"
    (request,) = server.transport.requests
    assert request.params is not None
    assert request.params["authorization_endpoint"] == (
        "http://127.0.0.1:8400/t/oauth2/v2.0/authorize"
    )


def test_turned_off(server: FakeServer) -> None:
    spec = parse_authority("https://login.fabrikam.example/7d3f", instance_discovery=False)
    with pytest.raises(AuthorityError, match="turned off"):
        run_flow(validate_instance(spec), server.transport)
    assert server.urls == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retryable(server: FakeServer, status: int) -> None:
    server.add(ENDPOINT, json_response({"error": "temporarily_unavailable"}, status))
    with pytest.raises(MsalServiceError) as info:
        _validate(server)
    assert info.value.retryable and info.value.status_code == status
    assert info.value.error == "temporarily_unavailable"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (HttpResponse(200, "<html>hi</html>"), "not a JSON object"),
        (HttpResponse(200, '{"tenant_discovery_endpoint": "https://x'), "not a JSON object"),
        (json_response([TDE]), "not a JSON object"),
        (json_response({}), "tenant_discovery_endpoint is missing"),
        (json_response({"tenant_discovery_endpoint": 7}), "not a non-empty string"),
        (json_response({"tenant_discovery_endpoint": "http://evil.example/x"}), "https"),
        (json_response({"error": "invalid_request"}, 400), "invalid_request"),
        (HttpResponse(403, "Forbidden"), "HTTP 403"),
    ],
)
def test_unusable_answers(server: FakeServer, response: HttpResponse, message: str) -> None:
    server.add(ENDPOINT, response)
    with pytest.raises(AuthorityError, match=message):
        _validate(server)


def test_transport_errors_propagate() -> None:
    def boom(_: HttpRequest) -> HttpResponse:
        raise TransportError("connection refused")

    spec = parse_authority("https://login.fabrikam.example/7d3f")
    with pytest.raises(TransportError):
        run_flow(validate_instance(spec), MockTransport(boom))


def test_alias_metadata_request_and_groups(server: FakeServer) -> None:
    server.add(ENDPOINT, METADATA)
    groups = run_flow(fetch_alias_metadata("login.fabrikam.example"), server.transport)
    (request,) = server.transport.requests
    assert request.params == {
        "api-version": "1.1",
        "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/authorize",
    }
    assert request.headers == {"Accept": "application/json"}
    assert groups[0] == AliasGroup(
        "login.microsoftonline.com",
        "login.windows.net",
        ("login.microsoftonline.com", "login.windows.net", "login.microsoft.com"),
    )
    assert groups[1] == AliasGroup(
        "login.fabrikam.example", "login.fabrikam.example", ("login.fabrikam.example",)
    )
    assert aliases_for("login.windows.net", groups) == (
        "login.microsoftonline.com",
        "login.microsoft.com",
    )


def test_alias_metadata_of_a_well_known_host_asks_that_host(server: FakeServer) -> None:
    url = "https://login.microsoftonline.us/common/discovery/instance"
    server.add(url, METADATA)
    run_flow(fetch_alias_metadata("login.microsoftonline.us"), server.transport)
    (request,) = server.transport.requests
    assert request.url == url
    assert request.params is not None
    assert request.params["authorization_endpoint"] == (
        "https://login.microsoftonline.us/common/oauth2/authorize"
    )


def test_alias_metadata_errors(server: FakeServer) -> None:
    server.add(ENDPOINT, json_response({"error": "x"}, 502))
    with pytest.raises(MsalServiceError) as info:
        run_flow(fetch_alias_metadata("login.microsoftonline.com"), server.transport)
    assert info.value.retryable
    server.add(ENDPOINT, HttpResponse(200, "not json"))
    with pytest.raises(ProtocolError):
        run_flow(fetch_alias_metadata("login.microsoftonline.com"), server.transport)


@pytest.mark.parametrize(
    "metadata",
    [None, {}, "x", [1], [{"aliases": []}], [{"aliases": "login.windows.net"}], [{"aliases": [1]}]],
)
def test_malformed_alias_metadata(metadata: object) -> None:
    with pytest.raises(ProtocolError):
        parse_alias_metadata(metadata)
