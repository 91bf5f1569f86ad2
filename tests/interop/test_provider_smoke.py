"""The interop set-up works: node-oidc-provider over https with the session's CA,
driven with plain httpx and with MSAL Python 1.39 (an independent client)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]
import pytest
from tests.interop._person import PersonError
from tests.interop._provider import (
    DEVICE_GRANT,
    RESOURCE,
    SCOPE_DEFAULT,
    SCOPE_READ,
    OidcProvider,
)

from tokensmith._jwt import b64url_encode, decode_jwt_claims

pytestmark = pytest.mark.interop


@pytest.fixture
def session(oidc_provider: OidcProvider) -> Iterator[Any]:
    with oidc_provider.requests_session() as http:
        yield http


def _discovery(provider: OidcProvider) -> dict[str, Any]:
    with provider.http_client() as client:
        response = client.get(f"{provider.issuer}/.well-known/openid-configuration")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_discovery_document_over_https_with_the_ca(oidc_provider: OidcProvider) -> None:
    document = _discovery(oidc_provider)
    assert document["issuer"] == oidc_provider.issuer
    assert oidc_provider.issuer.startswith("https://127.0.0.1:")
    for endpoint in ("token_endpoint", "authorization_endpoint", "device_authorization_endpoint"):
        assert document[endpoint].startswith(oidc_provider.issuer + "/")
    assert DEVICE_GRANT in document["grant_types_supported"]
    assert "client_secret_post" in document["token_endpoint_auth_methods_supported"]


def test_server_certificate_is_not_trusted_without_the_ca(oidc_provider: OidcProvider) -> None:
    with (
        httpx.Client(verify=True, trust_env=False) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(f"{oidc_provider.issuer}/.well-known/openid-configuration")


def test_wrong_password_is_rejected_by_the_login_page(oidc_provider: OidcProvider) -> None:
    with oidc_provider.http_client() as client:
        response = client.post(
            f"{oidc_provider.issuer}/device/auth",
            data={"client_id": oidc_provider.clients.public_id, "scope": "openid"},
        )
    assert response.status_code == 200
    flow = response.json()
    with (
        oidc_provider.browserless_person(password="not-the-password") as person,
        pytest.raises(PersonError, match="HTTP 401"),
    ):
        person.journey(flow["verification_uri_complete"])


def test_msal_client_credentials_with_client_secret_post(
    oidc_provider: OidcProvider, session: Any
) -> None:
    clients = oidc_provider.clients
    app = msal.ConfidentialClientApplication(
        clients.confidential_id,
        client_credential=clients.confidential_secret,
        oidc_authority=oidc_provider.issuer,
        http_client=session,
    )
    result = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert result.get("token_source") == "identity_provider", result.get("error_description")
    claims = decode_jwt_claims(result["access_token"], "access token")
    assert claims["aud"] == RESOURCE
    assert claims["client_id"] == clients.confidential_id
    assert claims["scope"] == SCOPE_DEFAULT
    assert claims["iss"] == oidc_provider.issuer


def test_msal_wrong_secret_gives_invalid_client(oidc_provider: OidcProvider, session: Any) -> None:
    app = msal.ConfidentialClientApplication(
        oidc_provider.clients.confidential_id,
        client_credential="not-the-secret",
        oidc_authority=oidc_provider.issuer,
        http_client=session,
    )
    result = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert result["error"] == "invalid_client"
    assert "access_token" not in result


def _jwt_app(provider: OidcProvider, client_id: str, session: Any) -> Any:
    key = provider.clients.jwt_key
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential={
            "private_key": key.private_key_pem,
            "public_certificate": key.certificate_pem,
        },
        oidc_authority=provider.issuer,
        http_client=session,
    )


def test_msal_client_credentials_with_private_key_jwt(
    oidc_provider: OidcProvider, session: Any
) -> None:
    client_id = oidc_provider.clients.jwt_lenient_id
    app = _jwt_app(oidc_provider, client_id, session)
    first = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert "access_token" in first, first.get("error_description")
    assert decode_jwt_claims(first["access_token"], "access token")["sub"] == client_id
    second = app.acquire_token_for_client([SCOPE_READ])  # a cache miss: a new request
    assert second.get("token_source") == "identity_provider", second.get("error_description")


def test_msal_reuses_its_client_assertion_which_a_strict_provider_rejects(
    oidc_provider: OidcProvider, session: Any
) -> None:
    """Known incompatibility: MSAL 1.39 signs one assertion and reuses it for ~9 min;
    RFC 7523 §3 allows the provider to reject the replayed ``jti``, and it does."""
    app = _jwt_app(oidc_provider, oidc_provider.clients.jwt_id, session)
    first = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert "access_token" in first, first.get("error_description")
    second = app.acquire_token_for_client([SCOPE_READ])
    assert second["error"] == "invalid_client"


def test_msal_device_flow_then_forced_refresh(oidc_provider: OidcProvider, session: Any) -> None:
    client_id = oidc_provider.clients.public_id
    app = msal.PublicClientApplication(
        client_id, oidc_authority=oidc_provider.issuer, http_client=session
    )
    flow = app.initiate_device_flow([SCOPE_READ])
    assert flow["interval"] == 1
    oidc_provider.complete_device_login(flow["verification_uri"], flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)

    assert result.get("token_source") == "identity_provider", result.get("error_description")
    assert result["refresh_token"] and result["id_token"]
    assert result["id_token_claims"]["sub"] == oidc_provider.username
    assert result["id_token_claims"]["aud"] == client_id
    (account,) = app.get_accounts()
    assert account["username"] == oidc_provider.username

    refreshes = oidc_provider.token_requests(client_id, "refresh_token")
    refreshed = app.acquire_token_silent([SCOPE_READ], account, force_refresh=True)
    assert refreshed is not None
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != result["access_token"]
    assert refreshed["refresh_token"] != result["refresh_token"]  # rotated
    assert oidc_provider.token_requests(client_id, "refresh_token") == refreshes + 1


def test_msal_auth_code_flow_with_pkce_and_form_post(
    oidc_provider: OidcProvider, session: Any
) -> None:
    app = msal.PublicClientApplication(
        oidc_provider.clients.public_id, oidc_authority=oidc_provider.issuer, http_client=session
    )
    flow = app.initiate_auth_code_flow(
        [SCOPE_READ], redirect_uri="http://localhost:8765", response_mode="form_post"
    )
    response = oidc_provider.authorize(flow["auth_uri"])
    assert (response.method, response.url) == ("POST", "http://localhost:8765")
    assert response.params["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, response.params)
    assert result.get("token_source") == "identity_provider", result.get("error_description")
    assert result["id_token_claims"]["sub"] == oidc_provider.username
    assert result["refresh_token"]


def test_authorize_in_http_returns_the_query_redirect(oidc_provider: OidcProvider) -> None:
    """A confidential web client's code flow (query mode, PKCE) by hand with httpx."""
    clients = oidc_provider.clients
    document = _discovery(oidc_provider)
    verifier = secrets.token_urlsafe(48)
    challenge = b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())
    redirect_uri = "http://127.0.0.1/callback"
    auth_url = httpx.URL(
        document["authorization_endpoint"],
        params={
            "client_id": clients.confidential_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": f"openid profile {SCOPE_READ}",
            "state": "st-123",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    redirect = httpx.URL(oidc_provider.authorize_in_http(str(auth_url)))
    assert str(redirect.copy_with(query=None)) == redirect_uri
    assert redirect.params["state"] == "st-123"
    with oidc_provider.http_client() as client:
        token = client.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": redirect.params["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": clients.confidential_id,
                "client_secret": clients.confidential_secret,
            },
        )
    assert token.status_code == 200, token.text
    body = token.json()
    assert decode_jwt_claims(body["id_token"], "id token")["sub"] == oidc_provider.username
    assert decode_jwt_claims(body["access_token"], "access token")["scope"] == SCOPE_READ
