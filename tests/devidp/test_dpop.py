"""The dev IdP binds tokens: DPoP (RFC 9449) for any client, Entra PoP (SHR) for
confidential clients; tokensmith and tokensmith.aio get them end to end (MSAL has no
DPoP and PoP only through a broker)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.devidp._person import http_client
from tests.devidp.conftest import ADA, CONTOSO, DAEMON, DAEMON_SECRET, DESKTOP, Library

import tokensmith
from tokensmith._jwt import decode_jwt_claims
from tokensmith.devidp import DevIdP
from tokensmith.dpop import DPoPKey
from tokensmith.protocol.shr import validate_http_request

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
READ = ["User.Read"]


@pytest.fixture(params=["tokensmith", "tokensmith.aio"])
def ts(request: pytest.FixtureRequest, idp: DevIdP) -> Iterator[Library]:
    library = Library(request.param, idp)
    yield library
    library.close()


def _cnf(token: str) -> dict[str, Any]:
    cnf: dict[str, Any] = decode_jwt_claims(token, "access token")["cnf"]
    return cnf


def test_client_credentials_dpop(ts: Library) -> None:
    app = ts.confidential(DAEMON, DAEMON_SECRET, dpop=True)
    first = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert first.get("token_type") == "DPoP", first.get("error_description")
    assert _cnf(first["access_token"]) == {"jkt": app.dpop_key.jkt}
    second = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert second["token_source"] == "cache" and second["token_type"] == "DPoP"


def _device_sign_in(idp: DevIdP, app: Any) -> dict[str, Any]:
    idp.device_code_auto_complete_user = ADA
    try:
        result: dict[str, Any] = app.acquire_token_by_device_flow(app.initiate_device_flow(READ))
    finally:
        idp.device_code_auto_complete_user = ""
    return result


def test_public_client_refresh_token_is_bound_to_its_key(ts: Library, idp: DevIdP) -> None:
    cache = tokensmith.SerializableTokenCache()
    app = ts.public(DESKTOP, tenant=CONTOSO, dpop=True, token_cache=cache)
    result = _device_sign_in(idp, app)
    assert result.get("token_type") == "DPoP", result.get("error_description")
    assert _cnf(result["access_token"]) == {"jkt": app.dpop_key.jkt}
    (account,) = app.get_accounts()
    refreshed = app.acquire_token_silent(READ, account, force_refresh=True)
    assert refreshed is not None and refreshed["token_type"] == "DPoP", refreshed
    other = ts.public(DESKTOP, tenant=CONTOSO, dpop=DPoPKey.generate(), token_cache=cache)
    (account,) = other.get_accounts()
    failed = other.acquire_token_silent_with_error(READ, account, force_refresh=True)
    assert failed is not None and failed["error"] == "invalid_grant"


def test_client_credentials_pop_is_a_signed_http_request(ts: Library, idp: DevIdP) -> None:
    app = ts.confidential(DAEMON, DAEMON_SECRET)
    url = "https://api.contoso.example/items"
    scheme = tokensmith.PopAuthScheme("GET", url, "nonce-1")
    result = app.acquire_token_for_client([GRAPH_DEFAULT], auth_scheme=scheme)
    assert result.get("token_type") == "pop", result.get("error_description")
    checked = validate_http_request(
        result["access_token"], method="GET", url=url, now=idp.context.clock()
    )
    assert checked.nonce == "nonce-1"
    assert checked.access_token_claims["cnf"] == {"kid": checked.kid}
    assert checked.access_token_claims["aud"] == "https://graph.microsoft.com"
    plain = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert plain["token_type"] == "Bearer" and "cnf" not in decode_jwt_claims(plain["access_token"])


@pytest.mark.parametrize("proof", ["not-a-jwt", "a.b.c"])
def test_a_bad_proof_is_invalid_dpop_proof(idp: DevIdP, proof: str) -> None:
    endpoint = f"{idp.authority(CONTOSO)}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": DAEMON,
        "client_secret": DAEMON_SECRET,
        "scope": GRAPH_DEFAULT,
    }
    with http_client(idp.ca_path) as client:
        response = client.post(endpoint, data=form, headers={"DPoP": proof})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    assert proof not in response.text or proof == "a.b.c"
