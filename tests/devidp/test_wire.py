"""The dev IdP on the wire, with a plain HTTP client: Entra's document shapes, error
bodies and headers, fault switches, the admin API and robustness against bad input."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.devidp._person import http_client, sign_in
from tests.devidp.conftest import ADA, CONTOSO, DAEMON, DAEMON_SECRET, DESKTOP, PASSWORD

from tokensmith._jwt import b64url_decode, b64url_encode, decode_json_part
from tokensmith.devidp import DevIdP
from tokensmith.protocol.jws import verify_signature

MSA = "9188040d-6c67-4c5b-b112-36a304b66dad"


@pytest.fixture
def http(idp: DevIdP) -> Iterator[httpx.Client]:
    with http_client(idp.ca_path) as client:
        yield client


def _token(http: httpx.Client, idp: DevIdP, tenant: str = CONTOSO, **form: str) -> httpx.Response:
    return http.post(f"{idp.base_url}/{tenant}/oauth2/v2.0/token", data=form)


def _daemon(**extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": DAEMON,
        "client_secret": DAEMON_SECRET,
        "scope": "https://graph.microsoft.com/.default",
        **extra,
    }


def _assert_entra_error(response: httpx.Response, status: int, error: str, code: int) -> Any:
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: " in body["error_description"]
    assert body["trace_id"] == response.headers["x-ms-request-id"]
    return body


def test_discovery_by_domain_publishes_guid_endpoints(http: httpx.Client, idp: DevIdP) -> None:
    doc = http.get(f"{idp.base_url}/contoso.example/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{idp.base_url}/{CONTOSO}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{idp.base_url}/{CONTOSO}/v2.0"
    assert doc["device_authorization_endpoint"].endswith(f"/{CONTOSO}/oauth2/v2.0/devicecode")
    assert doc["tenant_region_scope"] == "WW"


@pytest.mark.parametrize(
    ("segment", "issuer_tenant"),
    [("common", "{tenantid}"), ("organizations", "{tenantid}"), ("consumers", MSA)],
)
def test_multi_tenant_discovery(
    http: httpx.Client, idp: DevIdP, segment: str, issuer_tenant: str
) -> None:
    response = http.get(f"{idp.base_url}/{segment}/v2.0/.well-known/openid-configuration")
    doc = response.json()
    assert doc["issuer"] == f"{idp.base_url}/{issuer_tenant}/v2.0"
    assert doc["authorization_endpoint"] == f"{idp.base_url}/{segment}/oauth2/v2.0/authorize"
    assert response.headers["cache-control"] == "max-age=86400, private"


def test_b2c_and_adfs_path_shapes(http: httpx.Client, idp: DevIdP) -> None:
    b2c = http.get(
        f"{idp.base_url}/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration"
    ).json()
    assert b2c["token_endpoint"] == f"{idp.base_url}/{CONTOSO}/B2C_1_susi/oauth2/v2.0/token"
    assert b2c["issuer"].endswith("/v2.0/")  # B2C issuers carry a trailing slash
    adfs = http.get(f"{idp.base_url}/adfs/.well-known/openid-configuration").json()
    assert adfs["token_endpoint"] == f"{idp.base_url}/adfs/oauth2/token"
    assert adfs["jwks_uri"] == f"{idp.base_url}/adfs/discovery/keys"


def test_unknown_tenant(http: httpx.Client, idp: DevIdP) -> None:
    response = http.get(f"{idp.base_url}/nowhere.example/v2.0/.well-known/openid-configuration")
    _assert_entra_error(response, 400, "invalid_tenant", 90002)


def test_jwks_verifies_issued_tokens(http: httpx.Client, idp: DevIdP) -> None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    [key] = http.get(f"{idp.base_url}/{CONTOSO}/discovery/v2.0/keys").json()["keys"]
    assert key["kid"] == key["x5t"]
    der = base64.b64decode(key["x5c"][0])
    assert key["x5t"] == b64url_encode(hashlib.sha1(der, usedforsecurity=False).digest())
    token = _token(http, idp, **_daemon()).json()["access_token"]
    header = decode_json_part(token.split(".", 1)[0])
    assert header == {"typ": "JWT", "kid": key["kid"], "x5t": key["kid"], "alg": "RS256"}
    n = int.from_bytes(b64url_decode(key["n"]), "big")
    e = int.from_bytes(b64url_decode(key["e"]), "big")
    signing_input, _, signature = token.rpartition(".")
    public = RSAPublicNumbers(e, n).public_key()
    assert verify_signature(signing_input.encode(), b64url_decode(signature), public, "RS256")


def test_instance_discovery(http: httpx.Client, idp: DevIdP) -> None:
    url = f"{idp.base_url}/common/discovery/instance"
    ours = http.get(
        url,
        params={"api-version": "1.1", "authorization_endpoint": idp.authority(CONTOSO) + "/x"},
    )
    assert ours.json()["tenant_discovery_endpoint"] == (
        f"{idp.base_url}/{CONTOSO}/v2.0/.well-known/openid-configuration"
    )
    unknown = http.get(url, params={"authorization_endpoint": "https://evil.example/t/x"})
    _assert_entra_error(unknown, 400, "invalid_instance", 50049)


def test_user_realm(http: httpx.Client, idp: DevIdP) -> None:
    managed = http.get(f"{idp.base_url}/common/userrealm/{ADA}?api-version=1.0").json()
    assert managed["account_type"] == "Managed"
    other = http.get(f"{idp.base_url}/common/userrealm/who@else.example").json()
    assert other["account_type"] == "Unknown"


def test_error_echoes_the_correlation_id(http: httpx.Client, idp: DevIdP) -> None:
    response = http.post(
        f"{idp.base_url}/{CONTOSO}/oauth2/v2.0/token",
        data={"client_id": DAEMON},
        headers={"client-request-id": "c0ffee00-0000-4000-8000-000000000001"},
    )
    body = _assert_entra_error(response, 400, "invalid_request", 900144)
    assert body["correlation_id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert response.headers["client-request-id"] == body["correlation_id"]


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        ({"grant_type": "magic", "client_id": DAEMON}, 400, "unsupported_grant_type", 70003),
        (_daemon(scope="https://graph.microsoft.com/User.Read"), 400, "invalid_scope", 1002012),
        (_daemon(client_secret="nope"), 401, "invalid_client", 7000215),
        (
            _daemon(client_id="00000000-0000-0000-0000-00000000dead"),
            400,
            "unauthorized_client",
            700016,
        ),
        (_daemon(claims="{not json"), 400, "invalid_request", 90015),
        (_daemon(resource="https://graph.microsoft.com"), 400, "invalid_request", 901002),
        (
            {"grant_type": "client_credentials", "client_id": DESKTOP, "client_secret": "x"},
            401,
            "invalid_client",
            700025,
        ),
        (
            {"grant_type": "refresh_token", "client_id": DESKTOP, "refresh_token": "junk"},
            400,
            "invalid_grant",
            9002313,
        ),
        (
            {"grant_type": "password", "client_id": DESKTOP, "username": ADA, "password": "x"},
            400,
            "invalid_request",
            9001023,  # on /common
        ),
    ],
)
def test_token_errors(
    http: httpx.Client, idp: DevIdP, form: dict[str, str], status: int, error: str, code: int
) -> None:
    tenant = "common" if form.get("grant_type") == "password" else CONTOSO
    _assert_entra_error(_token(http, idp, tenant, **form), status, error, code)


def test_client_credentials_response_shape(http: httpx.Client, idp: DevIdP) -> None:
    response = _token(http, idp, **_daemon(client_info="1"))
    assert set(response.json()) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert response.headers["cache-control"] == "no-store, no-cache"


def test_basic_client_authentication(http: httpx.Client, idp: DevIdP) -> None:
    form = _daemon()
    del form["client_secret"]
    good = http.post(
        f"{idp.base_url}/{CONTOSO}/oauth2/v2.0/token", data=form, auth=(DAEMON, DAEMON_SECRET)
    )
    assert good.status_code == 200
    bad = http.post(
        f"{idp.base_url}/{CONTOSO}/oauth2/v2.0/token",
        data=form,
        headers={"Authorization": "Basic !!!not-base64"},
    )
    _assert_entra_error(bad, 401, "invalid_client", 7000215)


@pytest.mark.parametrize(
    "request_args",
    [
        {"method": "GET", "path": "/x/oauth2/v2.0/token"},
        {"method": "POST", "path": f"/{CONTOSO}/oauth2/v2.0/token", "content": b"\xff\xfe%%%=&&"},
        {"method": "POST", "path": f"/{CONTOSO}/oauth2/v2.0/token", "json": {"a": 1}},
        {"method": "GET", "path": "/%zz/%00/v2.0/.well-known/openid-configuration"},
        {"method": "GET", "path": "/error?code=abc"},
        {"method": "DELETE", "path": f"/{CONTOSO}/oauth2/v2.0/token"},
        {"method": "POST", "path": "/_devidp/faults", "data": {"kind": "nope"}},
        {"method": "POST", "path": "/devicelogin", "data": {"otc": "<script>"}},
        {"method": "POST", "path": f"/{CONTOSO}/oauth2/v2.0/authorize", "data": {"ctx": "old"}},
    ],
)
def test_bad_input_never_crashes(
    http: httpx.Client, idp: DevIdP, request_args: dict[str, Any]
) -> None:
    args = dict(request_args)
    response = http.request(args.pop("method"), idp.base_url + args.pop("path"), **args)
    assert 200 <= response.status_code < 500
    assert "<script>" not in response.text
    assert http.get(f"{idp.base_url}/common/v2.0/.well-known/openid-configuration").is_success


def test_authorize_error_pages_and_redirects(http: httpx.Client, idp: DevIdP) -> None:
    url = f"{idp.base_url}/organizations/oauth2/v2.0/authorize"
    unknown = http.get(url, params={"client_id": "00000000-0000-0000-0000-00000000dead"})
    assert unknown.status_code == 400 and "AADSTS700016" in unknown.text
    bad_uri = http.get(url, params={"client_id": DESKTOP, "redirect_uri": "https://evil.example"})
    assert bad_uri.status_code == 400 and "AADSTS50011" in bad_uri.text
    base = {"client_id": DESKTOP, "redirect_uri": "http://localhost:1234", "state": "s1"}
    silent = http.get(url, params={**base, "response_type": "code", "scope": "x", "prompt": "none"})
    assert silent.status_code == 302
    location = silent.headers["location"]
    assert location.startswith("http://localhost:1234/?error=login_required")
    assert "state=s1" in location and "AADSTS50058" in location
    implicit = http.get(url, params={**base, "response_type": "token", "scope": "openid"})
    assert "error=unsupported_response_type" in implicit.headers["location"]


def _pkce_code(http: httpx.Client, idp: DevIdP, verifier: str) -> str:
    challenge = b64url_encode(hashlib.sha256(verifier.encode()).digest())
    url = httpx.URL(
        f"{idp.base_url}/organizations/oauth2/v2.0/authorize",
        params={
            "client_id": DESKTOP,
            "response_type": "code",
            "redirect_uri": "http://localhost:5000",
            "scope": "User.Read openid offline_access",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    answer = sign_in(http, str(url), ADA, PASSWORD)
    return answer.params["code"]


def test_auth_code_pkce_mismatch_and_reuse(http: httpx.Client, idp: DevIdP) -> None:
    verifier = "v" * 43
    form = {
        "grant_type": "authorization_code",
        "client_id": DESKTOP,
        "redirect_uri": "http://localhost:5000",
    }
    code = _pkce_code(http, idp, verifier)
    wrong = _token(http, idp, "organizations", **form, code=code, code_verifier="w" * 43)
    _assert_entra_error(wrong, 400, "invalid_grant", 501481)
    code = _pkce_code(http, idp, verifier)
    first = _token(http, idp, "organizations", **form, code=code, code_verifier=verifier)
    assert set(first.json()) >= {"access_token", "refresh_token", "id_token"}
    assert "client_info" not in first.json()  # not requested
    again = _token(http, idp, "organizations", **form, code=code, code_verifier=verifier)
    _assert_entra_error(again, 400, "invalid_grant", 54005)


def test_device_code_declined_and_both_grant_spellings(http: httpx.Client, idp: DevIdP) -> None:
    start = http.post(
        f"{idp.base_url}/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DESKTOP, "scope": "User.Read openid"},
    ).json()
    assert len(start["user_code"]) == 9 and start["interval"] == 1
    poll = {"client_id": DESKTOP, "device_code": start["device_code"]}
    pending = _token(http, idp, "organizations", grant_type="device_code", **poll)
    _assert_entra_error(pending, 400, "authorization_pending", 70016)
    http.post(f"{idp.base_url}/devicelogin", data={"otc": start["user_code"], "step": "decline"})
    urn = "urn:ietf:params:oauth:grant-type:device_code"
    declined = _token(http, idp, "organizations", grant_type=urn, **poll)
    _assert_entra_error(declined, 400, "authorization_declined", 70018)


def test_server_error_and_plain_text_throttle(http: httpx.Client, idp: DevIdP) -> None:
    idp.faults.add("server_error", client_id=DAEMON, status=502)
    _assert_entra_error(_token(http, idp, **_daemon()), 502, "server_error", 90033)
    idp.faults.add("throttle", client_id=DAEMON, retry_after=7, plain_text=True)
    throttled = _token(http, idp, **_daemon())
    assert (throttled.status_code, throttled.text) == (429, "Too Many Requests")
    assert throttled.headers["retry-after"] == "7"
    assert _token(http, idp, **_daemon()).status_code == 200  # each fault fired once


def test_delay_fault(http: httpx.Client, idp: DevIdP) -> None:
    idp.faults.add("delay", client_id=DAEMON, seconds=0.3)
    started = time.monotonic()
    assert _token(http, idp, **_daemon()).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_admin_api_arms_and_clears_faults(http: httpx.Client, idp: DevIdP) -> None:
    admin = f"{idp.base_url}/_devidp/faults"
    armed = http.post(admin, data={"kind": "consent_required", "client_id": DAEMON, "count": "5"})
    assert armed.status_code == 201 and armed.json()["remaining"] == 5
    assert [f["kind"] for f in http.get(admin).json()["faults"]] == ["consent_required"]
    assert http.delete(admin).json() == {"faults": []}
    assert idp.faults.armed() == []
    on = http.post(f"{idp.base_url}/_devidp/device-auto-complete", data={"user": ADA})
    assert on.json() == {"device_code_auto_complete_user": ADA}
    assert idp.device_code_auto_complete_user == ADA


def test_logout_redirects_only_to_registered_uris(http: httpx.Client, idp: DevIdP) -> None:
    url = f"{idp.base_url}/common/oauth2/v2.0/logout"
    ok = http.get(url, params={"post_logout_redirect_uri": "http://localhost", "state": "z"})
    assert ok.headers["location"] == "http://localhost?state=z"
    other = http.get(url, params={"post_logout_redirect_uri": "https://evil.example"})
    assert other.status_code == 200 and "signed out" in other.text


def test_device_poll_faults(http: httpx.Client, idp: DevIdP) -> None:
    start = http.post(
        f"{idp.base_url}/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DESKTOP, "scope": "User.Read"},
    ).json()
    idp.faults.add("slow_down", client_id=DESKTOP)
    idp.faults.add("expired_token", client_id=DESKTOP)
    poll = {"client_id": DESKTOP, "device_code": start["device_code"], "grant_type": "device_code"}
    slow = _token(http, idp, "organizations", **poll)
    assert (slow.status_code, slow.json()["error"], slow.json()["error_codes"]) == (
        400,
        "slow_down",
        [],
    )
    _assert_entra_error(_token(http, idp, "organizations", **poll), 400, "expired_token", 70020)
    idp.approve_device(start["user_code"], ADA)
    assert _token(http, idp, "organizations", **poll).status_code == 200
    _assert_entra_error(_token(http, idp, "organizations", **poll), 400, "invalid_grant", 54005)
