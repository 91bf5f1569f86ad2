"""Every flow against the dev IdP, with MSAL Python 1.39 (the independent client) and
with tokensmith: both must get tokens, accounts and Entra-shaped errors alike."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from tests.devidp._person import enter_device_code, http_client, sign_in
from tests.devidp.conftest import (
    ADA,
    ALAN,
    API_A,
    API_A_SCOPE,
    API_A_SECRET,
    API_B_SCOPE,
    CONTOSO,
    DAEMON,
    DAEMON_SECRET,
    DESKTOP,
    FABRIKAM,
    FAMILY_ONE,
    FAMILY_TWO,
    GRACE,
    PASSWORD,
    Library,
)

from tokensmith._jwt import decode_jwt_claims
from tokensmith.devidp import DevIdP

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def _ok(result: dict[str, Any] | None) -> dict[str, Any]:
    assert result is not None
    assert "error" not in result, result.get("error_description")
    assert result["access_token"]
    return result


def _signed_in(idp: DevIdP, app: Any, scopes: list[str], username: str = ADA) -> dict[str, Any]:
    """A quick user sign-in: device code, completed at once by the auto-complete switch.

    (ROPC would be quicker still, but both clients send user realm discovery to the
    authority host without its port; see test_username_password_*.)"""
    idp.device_code_auto_complete_user = username
    try:
        flow = app.initiate_device_flow(scopes)
        return _ok(app.acquire_token_by_device_flow(flow))
    finally:
        idp.device_code_auto_complete_user = ""


def _ropc_works_on_a_port(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """MSAL asks ``https://{host}/common/userrealm/...`` without the authority's port,
    so it is told to skip user realm discovery for the loopback host; tokensmith asks
    the authority's own ``host:port``."""
    if lib.name == "msal":
        import msal.authority

        skip = {*msal.authority.Authority._domains_without_user_realm_discovery, "127.0.0.1"}
        monkeypatch.setattr(msal.authority.Authority, "_domains_without_user_realm_discovery", skip)


def _oid(idp: DevIdP, username: str) -> str:
    user = idp.config.user(username)
    assert user is not None
    return user.oid


def test_client_credentials_with_secret(lib: Library) -> None:
    app = lib.confidential(DAEMON, DAEMON_SECRET)
    first = _ok(app.acquire_token_for_client([GRAPH_DEFAULT]))
    claims = decode_jwt_claims(first["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["roles"] == ["User.Read.All"] and "scp" not in claims
    assert claims["tid"] == CONTOSO and claims["appid"] == DAEMON and claims["appidacr"] == "1"
    assert "refresh_token" not in first and "id_token" not in first
    second = _ok(app.acquire_token_for_client([GRAPH_DEFAULT]))
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]


def test_client_credentials_with_certificate(lib: Library, idp: DevIdP) -> None:
    app = lib.confidential(DAEMON, idp.client_certificate(DAEMON))  # ready as it comes
    result = _ok(app.acquire_token_for_client(["api://tokensmith-api-b/.default"]))
    claims = decode_jwt_claims(result["access_token"])
    assert claims["azpacr"] == "2" and claims["roles"] == ["Data.Read.All"]


def test_client_credentials_with_a_wrong_secret_is_invalid_client(lib: Library) -> None:
    result = lib.confidential(DAEMON, "not-the-secret").acquire_token_for_client([GRAPH_DEFAULT])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: ")


def test_device_code_completed_on_the_verification_page(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP)
    flow = app.initiate_device_flow(["User.Read"])
    assert flow["verification_uri"] == f"{idp.base_url}/devicelogin"
    with http_client(idp.ca_path) as person:
        page = enter_device_code(person, flow["verification_uri"], flow["user_code"], ADA, PASSWORD)
    assert "You have signed in" in page
    result = _ok(app.acquire_token_by_device_flow(flow))
    assert result["id_token_claims"]["preferred_username"] == ADA
    assert result["refresh_token"]


def test_device_code_pending_then_auto_completed(lib: Library, idp: DevIdP) -> None:
    idp.faults.add("authorization_pending", client_id=DESKTOP, count=2)
    idp.device_code_auto_complete_user = ADA
    app = lib.public(DESKTOP)
    flow = app.initiate_device_flow(["User.Read"])
    result = _ok(app.acquire_token_by_device_flow(flow))
    assert result["id_token_claims"]["oid"] == _oid(idp, ADA)
    assert idp.faults.armed() == []  # both pending answers were consumed by polls


def test_device_code_approved_through_the_python_api(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant=CONTOSO)
    flow = app.initiate_device_flow(["User.Read"])
    approver = threading.Timer(0.3, idp.approve_device, (flow["user_code"], ADA))
    approver.start()
    try:
        result = _ok(app.acquire_token_by_device_flow(flow))
    finally:
        approver.join()
    assert result["id_token_claims"]["tid"] == CONTOSO


def test_username_password_builds_the_entra_account(
    lib: Library, idp: DevIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ropc_works_on_a_port(lib, monkeypatch)
    app = lib.public(DESKTOP, tenant=CONTOSO)
    result = _ok(app.acquire_token_by_username_password(ADA, PASSWORD, ["User.Read"]))
    assert "client_info" in result
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{_oid(idp, ADA)}.{CONTOSO}"
    assert account["username"] == ADA
    assert account["realm"] == CONTOSO
    assert account["environment"] == "127.0.0.1"  # MSAL's cache environment has no port


def test_username_password_of_an_mfa_user_is_a_claims_challenge(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ropc_works_on_a_port(lib, monkeypatch)
    app = lib.public(DESKTOP, tenant=CONTOSO)
    refused = app.acquire_token_by_username_password(GRACE, PASSWORD, ["User.Read"])
    assert refused["error"] == "invalid_grant" and refused["error_codes"] == [50076]
    assert refused["suberror"] == "basic_action"
    assert "capolids" in refused["claims"]


def test_wrong_password_is_an_aadsts_error_dict(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ropc_works_on_a_port(lib, monkeypatch)
    app = lib.public(DESKTOP, tenant=CONTOSO)
    result = app.acquire_token_by_username_password(ADA, "wrong", ["User.Read"])
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50126]
    assert "Trace ID: " in result["error_description"]
    assert result["trace_id"] and result["correlation_id"]


def test_silent_from_cache_then_refresh_with_rotation(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant=CONTOSO)
    first = _signed_in(idp, app, ["User.Read"])
    [account] = app.get_accounts()
    cached = _ok(app.acquire_token_silent(["User.Read"], account))
    assert cached["token_source"] == "cache"
    refreshed = _ok(app.acquire_token_silent(["User.Read"], account, force_refresh=True))
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]  # rotated on every use


def test_refresh_token_redeemed_directly(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant=CONTOSO)
    first = _signed_in(idp, app, ["User.Read"])
    result = _ok(app.acquire_token_by_refresh_token(first["refresh_token"], [API_A_SCOPE]))
    assert decode_jwt_claims(result["access_token"])["aud"] == API_A


def test_on_behalf_of(lib: Library, idp: DevIdP) -> None:
    client = lib.public(DESKTOP, tenant=CONTOSO)
    user_token = _signed_in(idp, client, [API_A_SCOPE])
    api = lib.confidential(API_A, API_A_SECRET)
    result = _ok(api.acquire_token_on_behalf_of(user_token["access_token"], [API_B_SCOPE]))
    claims = decode_jwt_claims(result["access_token"])
    assert claims["aud"] == "b0b0b0b0-2c3d-4e4f-9a5b-6c7d8e9f0a02"
    assert claims["scp"] == "Data.Read" and claims["azp"] == API_A
    assert claims["oid"] == _oid(idp, ADA)


def test_on_behalf_of_rejects_a_token_for_another_api(lib: Library, idp: DevIdP) -> None:
    client = lib.public(DESKTOP, tenant=CONTOSO)
    graph_token = _signed_in(idp, client, ["User.Read"])
    api = lib.confidential(API_A, API_A_SECRET)
    result = api.acquire_token_on_behalf_of(graph_token["access_token"], [API_B_SCOPE])
    assert result["error"] == "invalid_grant" and result["error_codes"] == [50013]


def _auth_code(lib: Library, app: Any, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("response_mode", "form_post")
    flow: dict[str, Any] = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri="http://localhost:8400", **kwargs
    )
    return flow


@pytest.mark.parametrize("response_mode", [None, "form_post"])
def test_auth_code_with_a_scripted_person(
    lib: Library, idp: DevIdP, response_mode: str | None
) -> None:
    app = lib.public(DESKTOP)
    if response_mode is None:  # query: both clients warn that form_post is safer
        with pytest.warns(UserWarning, match="form_post"):
            flow = _auth_code(lib, app, login_hint=ADA, response_mode=None)
    else:
        flow = _auth_code(lib, app, login_hint=ADA)
    with http_client(idp.ca_path) as person:
        answer = sign_in(person, flow["auth_uri"], ADA, PASSWORD)
    if response_mode is None:  # path-less redirect URI comes back with a slash
        assert (answer.method, answer.url.partition("?")[0]) == ("GET", "http://localhost:8400/")
    else:
        assert (answer.method, answer.url) == ("POST", "http://localhost:8400")
    assert set(answer.params) >= {"code", "state", "client_info", "session_state"}
    result = _ok(app.acquire_token_by_auth_code_flow(flow, answer.params))
    assert result["id_token_claims"]["nonce"]  # echoed, and checked by the client
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{_oid(idp, ADA)}.{CONTOSO}"
    assert account["realm"] == "organizations"


def test_auth_code_consent_declined_comes_back_as_error(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP)
    flow = _auth_code(lib, app)
    with http_client(idp.ca_path) as person:
        answer = sign_in(person, flow["auth_uri"], ALAN, PASSWORD, decline_consent=True)
    assert answer.params["error"] == "access_denied"
    assert answer.params["error_subcode"] == "cancel"
    result = app.acquire_token_by_auth_code_flow(flow, answer.params)
    assert result["error"] == "access_denied"


def test_claims_challenge_then_mfa_sign_in(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant=CONTOSO)
    _signed_in(idp, app, ["User.Read"])
    [account] = app.get_accounts()
    idp.faults.add("mfa_required", user=ADA)
    refused = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert refused is not None and refused["suberror"] == "basic_action"
    flow = _auth_code(lib, app, claims_challenge=refused["claims"], login_hint=ADA)
    with http_client(idp.ca_path) as person:
        answer = sign_in(person, flow["auth_uri"], ADA, PASSWORD)
    assert answer.steps == ["login", "mfa"]  # the challenge asked for a second factor
    result = _ok(app.acquire_token_by_auth_code_flow(flow, answer.params))
    assert decode_jwt_claims(result["access_token"])["amr"] == ["pwd", "mfa"]


def test_multi_tenant_accounts_share_one_home_account(lib: Library, idp: DevIdP) -> None:
    home = lib.public(DESKTOP, tenant="organizations")
    _signed_in(idp, home, ["User.Read"])
    guest = lib.public(DESKTOP, tenant=FABRIKAM, token_cache=home.token_cache)
    result = _signed_in(idp, guest, ["User.Read"])
    assert result["id_token_claims"]["tid"] == FABRIKAM
    assert result["id_token_claims"]["iss"] == f"{idp.base_url}/{FABRIKAM}/v2.0"
    [account] = home.get_accounts()
    assert account["home_account_id"] == f"{_oid(idp, ADA)}.{CONTOSO}"
    realms = {
        entry["realm"]
        for entry in home.token_cache.search(home.token_cache.CredentialType.ID_TOKEN)
    }
    assert realms == {"organizations", FABRIKAM}


def test_foci_family_apps_share_a_refresh_token(lib: Library, idp: DevIdP) -> None:
    one = lib.public(FAMILY_ONE, tenant=CONTOSO)
    _signed_in(idp, one, ["User.Read"])
    [app_metadata] = one.token_cache.search(one.token_cache.CredentialType.APP_METADATA)
    assert app_metadata["family_id"] == "1"
    two = lib.public(FAMILY_TWO, tenant=CONTOSO, token_cache=one.token_cache)
    [account] = two.get_accounts()
    result = _ok(two.acquire_token_silent(["User.Read"], account))
    assert result["token_source"] == "identity_provider"
    assert decode_jwt_claims(result["access_token"])["appid"] == FAMILY_TWO


def test_client_capabilities_get_long_lived_tokens(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant=CONTOSO, client_capabilities=["cp1"])
    result = _signed_in(idp, app, ["User.Read"])
    assert decode_jwt_claims(result["access_token"])["xms_cc"] == ["cp1"]
    assert result["expires_in"] > 80000


@pytest.mark.parametrize(
    ("fault", "suberror", "classification", "code"),
    [
        ("bad_token", "bad_token", "", 700082),
        ("consent_required", "consent_required", "consent_required", 65001),
        ("mfa_required", "basic_action", "basic_action", 50076),
    ],
)
def test_silent_refresh_errors_are_classified(
    lib: Library, idp: DevIdP, fault: str, suberror: str, classification: str, code: int
) -> None:
    app = lib.public(DESKTOP, tenant=CONTOSO)
    _signed_in(idp, app, ["User.Read"])
    [account] = app.get_accounts()
    idp.faults.add(fault, user=ADA)
    result = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert result is not None
    assert result["error"] == "invalid_grant" and result["error_codes"] == [code]
    assert result["suberror"] == suberror
    assert result["classification"] == classification
    assert ("claims" in result) == (fault == "mfa_required")


def test_throttled_with_retry_after(lib: Library, idp: DevIdP) -> None:
    idp.faults.add("throttle", client_id=DAEMON, retry_after=1)
    app = lib.confidential(DAEMON, DAEMON_SECRET)
    result = app.acquire_token_for_client([GRAPH_DEFAULT])
    if lib.name == "msal":  # MSAL hands the 429 to the caller
        assert result["error"] == "temporarily_unavailable"
        assert result["error_codes"] == [90055]
    else:  # tokensmith honours Retry-After and tries again
        _ok(result)
    assert idp.faults.armed() == []


def test_b2c_policy_authority(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant="contoso.onmicrosoft.com/B2C_1_susi")
    flow = _auth_code(lib, app)
    with http_client(idp.ca_path) as person:
        answer = sign_in(person, flow["auth_uri"], ADA, PASSWORD)
    result = _ok(app.acquire_token_by_auth_code_flow(flow, answer.params))
    assert result["id_token_claims"]["tfp"] == "B2C_1_susi"
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{_oid(idp, ADA)}-b2c_1_susi.{CONTOSO}"


def test_adfs_authority(lib: Library, idp: DevIdP) -> None:
    app = lib.public(DESKTOP, tenant="adfs")  # AD FS skips user realm discovery
    _ok(app.acquire_token_by_username_password(ADA, PASSWORD, ["User.Read"]))
    [account] = app.get_accounts()
    assert (account["realm"], account["authority_type"]) == ("adfs", "ADFS")
    assert account["home_account_id"] == _oid(idp, ADA)  # no client_info: the sub


def test_tokensmith_validates_the_authority_with_the_dev_idp(idp: DevIdP) -> None:
    import tokensmith
    from tokensmith.errors import AuthorityError

    def app(endpoint: str) -> tokensmith.ConfidentialClientApplication:
        return tokensmith.ConfidentialClientApplication(
            DAEMON,
            client_credential=DAEMON_SECRET,
            authority=idp.authority("contoso.onmicrosoft.com"),
            verify=str(idp.ca_path),
            instance_discovery=endpoint,  # the validating path, answered by the dev IdP
        )

    with app(f"{idp.base_url}/common/discovery/instance") as validated:
        _ok(validated.acquire_token_for_client([GRAPH_DEFAULT]))
    broken = app(f"{idp.base_url}/nowhere/discovery/instance")  # proves it is really asked
    with broken, pytest.raises(AuthorityError, match="HTTP 404"):
        broken.acquire_token_for_client([GRAPH_DEFAULT])
