from __future__ import annotations

from typing import Any

import pytest

from tokensmith._jwt import b64url_encode
from tokensmith.drivers.sync import run_flow
from tokensmith.entra.classification import classify, is_interaction_required
from tokensmith.entra.client_info import (
    anchor_mailbox_from_client_info,
    home_account_id_from,
    parse_client_info,
)
from tokensmith.entra.userrealm import user_realm
from tokensmith.errors import ProtocolError
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

UID = "4b1e2d3c-8a7f-49b0-9c1d-2e3f4a5b6c7d"
UTID = "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
# From reference/entra-protocol.md §4.5 (unpadded base64url).
SAMPLE = (
    "eyJ1aWQiOiI0YjFlMmQzYy04YTdmLTQ5YjAtOWMxZC0yZTNmNGE1YjZjN2QiLCJ1dGlkIjoiN2QzZjFlMmEtNWI0Yy"
    "00ZDZlLThmOTAtMWEyYjNjNGQ1ZTZmIn0"
)


def test_parse_client_info() -> None:
    assert parse_client_info(SAMPLE) == (UID, UTID)
    assert parse_client_info(SAMPLE + "=") == (UID, UTID)
    assert home_account_id_from(SAMPLE) == f"{UID}.{UTID}"
    assert anchor_mailbox_from_client_info(SAMPLE) == f"Oid:{UID}@{UTID}"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not base64 !",
        b64url_encode(b"not json"),
        b64url_encode(b"[1, 2]"),
        b64url_encode(b'{"uid": "u"}'),
        b64url_encode(b'{"uid": "", "utid": "t"}'),
        b64url_encode(b'{"uid": 5, "utid": "t"}'),
        None,
    ],
)
def test_parse_client_info_garbage(bad: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_client_info(bad)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"error": "invalid_grant"}, None),
        ({"error": "invalid_grant", "suberror": "bad_token"}, ""),
        ({"error": "invalid_grant", "suberror": "token_expired"}, ""),
        ({"error": "invalid_grant", "suberror": "protection_policy_required"}, ""),
        ({"error": "invalid_grant", "suberror": "client_mismatch"}, ""),
        ({"error": "invalid_grant", "suberror": "device_authentication_failed"}, ""),
        ({"error": "invalid_grant", "suberror": "basic_action"}, "basic_action"),
        ({"error": "interaction_required", "suberror": "consent_required"}, "consent_required"),
    ],
)
def test_classify(error: dict[str, Any], expected: str | None) -> None:
    assert classify(error) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"error": "interaction_required"}, True),
        ({"error": "invalid_grant"}, True),
        ({"error": "login_required"}, True),
        ({"error": "invalid_request", "suberror": "basic_action"}, True),
        ({"error": "invalid_grant", "suberror": "client_mismatch"}, False),
        ({"error": "invalid_grant", "suberror": "protection_policy_required"}, False),
        ({"error": "invalid_client"}, False),
        ({"error": "temporarily_unavailable"}, False),
        ({}, False),
    ],
)
def test_is_interaction_required(error: dict[str, Any], expected: bool) -> None:
    assert is_interaction_required(error) is expected


def _realm(
    response: HttpResponse, username: str = "ada@fabrikam.example"
) -> tuple[dict[str, Any], MockTransport]:
    transport = MockTransport(lambda _r: response)
    flow = user_realm("login.example", username, headers={"client-request-id": "c"})
    return run_flow(flow, transport), transport


def test_user_realm_request_and_answer() -> None:
    body = {"ver": "1.0", "account_type": "Managed", "domain_name": "fabrikam.example"}
    result, transport = _realm(json_response(body))
    assert result == body
    request = transport.requests[0]
    assert request.method == "GET"
    assert request.url == "https://login.example/common/userrealm/ada@fabrikam.example"
    assert request.params == {"api-version": "1.0"}
    assert request.headers == {"client-request-id": "c"}


def test_user_realm_keeps_the_authoritys_port_and_scheme() -> None:
    """A loopback authority on a port (the dev IdP) is asked on that port."""
    transport = MockTransport(lambda _r: json_response({"account_type": "Managed"}))
    run_flow(user_realm("127.0.0.1:8443", "ada@x", scheme="http"), transport)
    assert transport.requests[0].url == "http://127.0.0.1:8443/common/userrealm/ada@x"


def test_user_realm_escapes_path_breaking_characters() -> None:
    _, transport = _realm(json_response({"account_type": "Managed"}), "a/b?c#d@x")
    assert transport.requests[0].url.endswith("/userrealm/a%2Fb%3Fc%23d@x")


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse(404, "Not Found"),
        HttpResponse(500, "oops"),
        HttpResponse(200, "<html>"),
        HttpResponse(200, "[1]"),
        json_response({"ver": "1.0"}),
    ],
)
def test_user_realm_unknown(response: HttpResponse) -> None:
    assert _realm(response)[0] == {"account_type": "Unknown"}
