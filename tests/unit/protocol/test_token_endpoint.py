from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tokensmith.drivers.sync import run_flow
from tokensmith.errors import MsalServiceError, TransportError
from tokensmith.protocol.client_auth import ClientSecretAuth, PublicClientAuth
from tokensmith.protocol.token_endpoint import token_request
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

ENDPOINT = "https://login.example/tenant/oauth2/v2.0/token"
NOW = 1_700_000_000.0


def _run(response: HttpResponse, auth: Any = None) -> tuple[dict[str, Any], MockTransport]:
    transport = MockTransport(lambda _req: response)
    flow = token_request(
        ENDPOINT,
        {"client_id": "cid", "grant_type": "client_credentials", "scope": "s/.default"},
        headers={"client-request-id": "corr"},
        client_auth=auth or PublicClientAuth(),
        now=NOW,
    )
    return run_flow(flow, transport), transport


def test_request_is_a_form_post_with_client_auth_fields_added() -> None:
    result, transport = _run(
        json_response({"access_token": "at", "expires_in": 3599}),
        ClientSecretAuth("s3cret"),
    )
    [request] = transport.requests
    assert request.method == "POST"
    assert request.url == ENDPOINT
    assert dict(request.data or {}) == {
        "client_id": "cid",
        "grant_type": "client_credentials",
        "scope": "s/.default",
        "client_secret": "s3cret",
    }
    assert request.headers == {"Accept": "application/json", "client-request-id": "corr"}
    assert "client_secret" in request.secret_fields
    assert "s3cret" not in repr(request)
    assert result == {"access_token": "at", "expires_in": 3599}


def test_secret_form_fields_are_marked() -> None:
    transport = MockTransport(lambda _req: json_response({"access_token": "at"}))
    form = {"grant_type": "refresh_token", "refresh_token": "rt", "client_id": "c"}
    run_flow(
        token_request(ENDPOINT, form, headers={}, client_auth=PublicClientAuth(), now=NOW),
        transport,
    )
    assert transport.requests[0].secret_fields == frozenset({"refresh_token"})


OAUTH_ERROR = {
    "error": "invalid_grant",
    "error_description": "AADSTS700082: expired",
    "error_codes": [700082],
    "suberror": "bad_token",
    "claims": '{"access_token":{"capolids":{"essential":true}}}',
    "correlation_id": "c0",
    "trace_id": "t0",
}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            json_response({"access_token": "at", "expires_in": 3600, "token_type": "Bearer"}),
            {"access_token": "at", "expires_in": 3600, "token_type": "Bearer"},
        ),
        (
            json_response(
                {
                    "access_token": "at",
                    "expires_in": "3600",
                    "ext_expires_in": "7200 ",
                    "refresh_in": 1800.0,
                }
            ),
            {"access_token": "at", "expires_in": 3600, "ext_expires_in": 7200, "refresh_in": 1800},
        ),
        (json_response(OAUTH_ERROR, 400), OAUTH_ERROR),
        (
            json_response({"error": "invalid_client", "error_description": "AADSTS7000215"}, 401),
            {"error": "invalid_client", "error_description": "AADSTS7000215"},
        ),
        (
            json_response({"error": "temporarily_unavailable"}, 429, {"Retry-After": "30"}),
            {"error": "temporarily_unavailable"},
        ),
        (
            HttpResponse(429, "Too Many Requests", {"retry-after": "30"}),
            {
                "error": "temporarily_unavailable",
                "error_description": "the token endpoint is throttling requests (HTTP 429)",
                "retry_after": 30,
            },
        ),
        (
            HttpResponse(429, "Too Many Requests", {}),
            {
                "error": "temporarily_unavailable",
                "error_description": "the token endpoint is throttling requests (HTTP 429)",
            },
        ),
    ],
    ids=["ok", "string-lifetimes", "400-oauth", "401", "429-json", "429-text", "429-no-header"],
)
def test_responses_that_pass_through(response: HttpResponse, expected: dict[str, Any]) -> None:
    assert _run(response)[0] == expected


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (HttpResponse(200, "<html><body>secret-ish page</body></html>"), "not JSON (HTTP 200)"),
        (HttpResponse(200, '{"access_token": "at", "expi'), "not JSON (HTTP 200)"),
        (HttpResponse(200, '["access_token"]'), "JSON list, not an object (HTTP 200)"),
        (HttpResponse(200, ""), "empty (HTTP 200)"),
        (json_response({"token_type": "Bearer"}), "neither 'access_token' nor 'error'"),
        (json_response({"access_token": "at", "expires_in": "soon"}), "'expires_in' is not"),
        (json_response({"access_token": "at", "expires_in": True}), "'expires_in' is not"),
        (json_response({"access_token": "at", "expires_in": None}), "'expires_in' is not"),
        (HttpResponse(400, "<html>Bad Request</html>"), "not JSON (HTTP 400)"),
        (json_response({"message": "nope"}, 404), "no 'error' field (HTTP 404)"),
        (HttpResponse(302, ""), "unexpected HTTP status (HTTP 302)"),
    ],
)
def test_malformed_responses_become_invalid_response(response: HttpResponse, fragment: str) -> None:
    result = _run(response)[0]
    assert set(result) == {"error", "error_description"}
    assert result["error"] == "invalid_response"
    assert fragment in result["error_description"]
    assert "secret-ish" not in result["error_description"]


def test_5xx_raises_msal_service_error_with_oauth_fields() -> None:
    body = {"error": "server_error", "error_description": "AADSTS90033: transient"}
    with pytest.raises(MsalServiceError) as info:
        _run(json_response(body, 503))
    assert info.value.status_code == 503
    assert info.value.error == "server_error"
    assert info.value.error_description == "AADSTS90033: transient"
    assert info.value.retryable


def test_a_5xx_names_the_step_and_the_url_it_used_without_the_query() -> None:
    with pytest.raises(MsalServiceError) as info:
        run_flow(
            token_request(
                ENDPOINT + "?dc=ESTS-PUB-WUS2",
                {},
                headers={},
                client_auth=PublicClientAuth(),
                now=NOW,
            ),
            MockTransport(lambda request: HttpResponse(503, "")),
        )
    assert str(info.value).startswith(f"token endpoint {ENDPOINT}?dc=… failed with HTTP 503"), str(
        info.value
    )


def test_5xx_with_html_body_raises_without_the_body() -> None:
    with pytest.raises(MsalServiceError) as info:
        _run(HttpResponse(500, "<html>internal detail</html>"))
    assert info.value.status_code == 500
    assert info.value.error is None
    assert "internal detail" not in str(info.value)


def test_transport_errors_propagate() -> None:
    def fail(_request: HttpRequest) -> HttpResponse:
        raise TransportError("connection refused")

    flow = token_request(ENDPOINT, {}, headers={}, client_auth=PublicClientAuth(), now=NOW)
    with pytest.raises(TransportError):
        run_flow(flow, MockTransport(fail))


def test_flow_without_response_is_a_driver_error() -> None:
    flow = token_request(ENDPOINT, {}, headers={}, client_auth=PublicClientAuth(), now=NOW)
    next(flow)
    with pytest.raises(RuntimeError, match="driver"):
        flow.send(None)


def test_header_defaults_can_be_overridden() -> None:
    transport = MockTransport(lambda _r: json_response({"access_token": "a"}))
    flow: Callable[[], Any] = lambda: token_request(  # noqa: E731
        ENDPOINT, {}, headers={"Accept": "*/*"}, client_auth=PublicClientAuth(), now=NOW
    )
    run_flow(flow(), transport)
    assert transport.requests[0].headers == {"Accept": "*/*"}


_GOOD = {"access_token": "at", "token_type": "Bearer", "expires_in": 3600}


@pytest.mark.parametrize(
    "changes",
    [
        {"expires_in": 10**400},
        {"expires_in": float("nan")},
        {"expires_in": float("inf")},
        {"expires_in": "1e400"},
        {"expires_in": 11 * 366 * 86400},
        {"expires_in": -1},
        {"expires_in": True},
        {"expires_in": [3600]},
        {"ext_expires_in": 10**400},
        {"refresh_in": "NaN"},
        {"expires_on": 10**400},
        {"expires_on": "soon"},
        {"access_token": 12345},
        {"access_token": "\ud800"},
        {"access_token": ["at"]},
        {"refresh_token": 7},
        {"refresh_token": "x\udfffy"},
        {"id_token": {"sub": "s"}},
        {"token_type": None},
        {"scope": ["User.Read"]},
        {"client_info": 5},
        {"foci": ["1"]},
        {"foci": 1},
        {"error": 5},
    ],
)
def test_a_success_with_a_value_of_the_wrong_type_or_range_is_invalid_response(
    changes: dict[str, Any],
) -> None:
    import json

    body = json.dumps({**_GOOD, **changes})  # Python's JSON writes NaN and 10**400 out
    result, _ = _run(HttpResponse(200, body, {}))
    assert result["error"] == "invalid_response"
    assert "at" not in result["error_description"].split()
    assert set(result) == {"error", "error_description"}


def test_lifetimes_in_range_are_accepted_and_made_integers() -> None:
    result, _ = _run(json_response({**_GOOD, "expires_in": "3599.5", "refresh_in": 1800}))
    assert result["expires_in"] == 3599 and result["refresh_in"] == 1800
    result, _ = _run(json_response({**_GOOD, "foci": "1", "expires_on": str(int(NOW) + 60)}))
    assert result["foci"] == "1"
