"""Spot checks of the dev IdP against reference/entra-protocol.md: token claims (§6.1,
§6.2), refresh token rotation (§4.2), the ``{tenantid}`` issuer template (§1.3, §11.4),
``client_info`` (§4.5), the device code response (§5) and error members (§4.6)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.devidp._person import http_client
from tests.devidp.conftest import (
    ADA,
    API_A,
    API_A_SCOPE,
    API_A_SECRET,
    CONTOSO,
    DAEMON,
    DAEMON_SECRET,
    DESKTOP,
    FABRIKAM,
    PASSWORD,
)

from tokensmith._jwt import decode_jwt_claims
from tokensmith.devidp import DevIdP

GRAPH = "00000003-0000-0000-c000-000000000000"


@pytest.fixture
def http(idp: DevIdP) -> Iterator[httpx.Client]:
    with http_client(idp.ca_path) as client:
        yield client


def _token(http: httpx.Client, idp: DevIdP, tenant: str = CONTOSO, **form: str) -> Any:
    response = http.post(f"{idp.base_url}/{tenant}/oauth2/v2.0/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()


def _ropc(http: httpx.Client, idp: DevIdP, scope: str, tenant: str = CONTOSO) -> Any:
    form = {"grant_type": "password", "client_id": DESKTOP, "username": ADA}
    return _token(http, idp, tenant, **form, password=PASSWORD, scope=scope, client_info="1")


def _oid(idp: DevIdP) -> str:
    user = idp.config.user(ADA)
    assert user is not None
    return user.oid


def test_v2_user_access_token_claims(http: httpx.Client, idp: DevIdP) -> None:
    result = _ropc(http, idp, f"{API_A_SCOPE} openid profile offline_access")
    claims = decode_jwt_claims(result["access_token"])
    assert claims["aud"] == API_A and claims["ver"] == "2.0"
    assert claims["iss"] == f"{idp.base_url}/{CONTOSO}/v2.0"
    assert (claims["tid"], claims["oid"]) == (CONTOSO, _oid(idp))
    assert claims["scp"] == "access_as_user" and "roles" not in claims
    assert (claims["azp"], claims["azpacr"]) == (DESKTOP, "0")
    assert "appid" not in claims and claims["preferred_username"] == ADA
    assert claims["uti"] and claims["idtyp"] == "user"
    assert claims["iat"] == claims["nbf"] and claims["exp"] - claims["iat"] == result["expires_in"]
    assert result["scope"] == f"{API_A_SCOPE} profile openid"  # no offline_access echo


def test_v1_user_access_token_claims(http: httpx.Client, idp: DevIdP) -> None:
    claims = decode_jwt_claims(_ropc(http, idp, "User.Read Mail.Read")["access_token"])
    assert claims["ver"] == "1.0" and claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"{idp.base_url}/{CONTOSO}/"  # v1 issuer form, no /v2.0
    assert (claims["appid"], claims["appidacr"]) == (DESKTOP, "0")
    assert claims["scp"] == "User.Read Mail.Read" and claims["upn"] == ADA
    assert "azp" not in claims


def test_app_only_token_claims(http: httpx.Client, idp: DevIdP) -> None:
    result = _token(
        http,
        idp,
        grant_type="client_credentials",
        client_id=DAEMON,
        client_secret=DAEMON_SECRET,
        scope="api://tokensmith-api-a/.default",
        client_info="1",
    )
    assert set(result) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    claims = decode_jwt_claims(result["access_token"])
    assert claims["idtyp"] == "app" and claims["roles"] == ["Tasks.ReadWrite.All"]
    assert "scp" not in claims and claims["oid"] == claims["sub"] != _oid(idp)
    assert (claims["azp"], claims["azpacr"], claims["ver"]) == (DAEMON, "1", "2.0")
    assert claims["iss"] == f"{idp.base_url}/{CONTOSO}/v2.0" and claims["tid"] == CONTOSO


def test_app_only_token_without_app_roles_has_no_roles_claim(
    http: httpx.Client, idp: DevIdP
) -> None:
    from dataclasses import replace

    config = idp.config
    graph = config.api("https://graph.microsoft.com")
    assert graph is not None
    apis = tuple(replace(a, app_roles=()) if a is graph else a for a in config.apis)
    original = idp.context.config
    idp.context.config = replace(config, apis=apis)
    try:
        result = _token(
            http,
            idp,
            grant_type="client_credentials",
            client_id=DAEMON,
            client_secret=DAEMON_SECRET,
            scope="https://graph.microsoft.com/.default",
        )
    finally:
        idp.context.config = original
    claims = decode_jwt_claims(result["access_token"])
    assert "roles" not in claims and claims["idtyp"] == "app"


def test_id_token_and_client_info_of_a_guest(http: httpx.Client, idp: DevIdP) -> None:
    result = _ropc(http, idp, "User.Read openid profile", tenant=FABRIKAM)
    claims = decode_jwt_claims(result["id_token"])
    assert claims["aud"] == DESKTOP and claims["ver"] == "2.0"
    assert claims["iss"] == f"{idp.base_url}/{FABRIKAM}/v2.0" and claims["tid"] == FABRIKAM
    assert claims["oid"] == _oid(idp) and claims["uti"]
    info = result["client_info"]
    assert "=" not in info and "+" not in info and "/" not in info
    decoded = json.loads(base64.urlsafe_b64decode(info + "=" * (-len(info) % 4)))
    assert decoded == {"uid": _oid(idp), "utid": CONTOSO}  # the home tenant, not Fabrikam


def test_refresh_token_rotation_keeps_the_old_one_valid(http: httpx.Client, idp: DevIdP) -> None:
    first = _ropc(http, idp, "User.Read offline_access")
    refresh = {"grant_type": "refresh_token", "client_id": DESKTOP, "client_info": "1"}
    second = _token(http, idp, **refresh, refresh_token=first["refresh_token"], scope=API_A_SCOPE)
    assert second["refresh_token"] != first["refresh_token"]  # a new one on every use
    assert decode_jwt_claims(second["access_token"])["aud"] == API_A  # any resource
    assert "client_info" in second
    again = _token(http, idp, **refresh, refresh_token=first["refresh_token"], scope="User.Read")
    assert again["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    other = http.post(
        f"{idp.base_url}/{CONTOSO}/oauth2/v2.0/token",
        data={**refresh, "client_id": API_A, "client_secret": API_A_SECRET,
              "refresh_token": second["refresh_token"]},
    )  # fmt: skip
    assert other.status_code == 400 and other.json()["suberror"] == "client_mismatch"


@pytest.mark.parametrize("segment", ["common", "organizations"])
def test_tenantid_template_in_discovery_and_jwks(
    http: httpx.Client, idp: DevIdP, segment: str
) -> None:
    doc = http.get(f"{idp.base_url}/{segment}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{idp.base_url}/{{tenantid}}/v2.0"
    keys = http.get(doc["jwks_uri"]).json()["keys"]
    assert keys[0]["issuer"] == f"{idp.base_url}/{{tenantid}}/v2.0"
    if segment == "organizations":  # ROPC is refused on /common (§4.2)
        token = decode_jwt_claims(_ropc(http, idp, "openid", tenant=segment)["id_token"])
        assert token["iss"] == doc["issuer"].replace("{tenantid}", token["tid"])


def test_device_code_response(http: httpx.Client, idp: DevIdP) -> None:
    start = http.post(
        f"{idp.base_url}/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DESKTOP, "scope": "User.Read"},
    ).json()
    assert set(start) == {
        "user_code", "device_code", "verification_uri", "expires_in", "interval", "message"
    }  # fmt: skip
    assert type(start["expires_in"]) is int and start["expires_in"] == 900
    assert type(start["interval"]) is int and start["interval"] == 1  # the fixture's setting
    assert start["user_code"] in start["message"] and start["verification_uri"] in start["message"]


@pytest.mark.parametrize("where", ["header", "query", "body"])
def test_correlation_id_echo(http: httpx.Client, idp: DevIdP, where: str) -> None:
    cid = "0a1b2c3d-4e5f-4061-8283-949596979899"
    url = f"{idp.base_url}/{CONTOSO}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": DAEMON}
    if where == "header":
        response = http.post(url, data=form, headers={"client-request-id": cid})
    elif where == "query":
        response = http.post(url, data=form, params={"client-request-id": cid})
    else:
        response = http.post(url, data={**form, "client-request-id": cid})
    body = response.json()
    assert response.status_code == 401 and body["error_codes"] == [7000218]
    assert body["correlation_id"] == cid == response.headers["client-request-id"]
    assert f"\r\nCorrelation ID: {cid}\r\n" in body["error_description"]
    assert body["error_uri"].endswith("/error?code=7000218")
    assert body["timestamp"] in body["error_description"]


def test_a_user_fault_fires_once_per_device_poll(http: httpx.Client, idp: DevIdP) -> None:
    start = http.post(
        f"{idp.base_url}/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DESKTOP, "scope": "User.Read"},
    ).json()
    idp.approve_device(start["user_code"], ADA)
    idp.faults.add("delay", user=ADA, count=2, seconds=0.0)
    poll = {"grant_type": "device_code", "client_id": DESKTOP, "device_code": start["device_code"]}
    assert _token(http, idp, "organizations", **poll)["access_token"]
    assert [f.remaining for f in idp.faults.armed()] == [1]  # one poll, one firing
