"""DPoP against a real authorization server: node-oidc-provider (its dPoP feature,
RFC 9449) binds the tokens tokensmith obtains; a resource checks the proofs.

The confidential client must use the provider's nonce (``dpop_require_nonce``), so its
first token request is answered ``use_dpop_nonce`` and retried; the public client's
refresh tokens are bound to its key by the provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests._aio import blocking_app
from tests.interop._provider import SCOPE_DEFAULT, SCOPE_READ, OidcProvider
from tests.unit.dpop.resource import Resource, serve

import tokensmith
import tokensmith.aio
from tokensmith._jwt import decode_jwt_claims
from tokensmith.dpop import DPoPAuth, DPoPKey, DPoPVerifier

pytestmark = pytest.mark.interop


@pytest.fixture
def apps() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for app in made:
        app.close()


def _confidential(provider: OidcProvider, apps: list[Any], aio: bool = False, **kw: Any) -> Any:
    clients = provider.clients
    args = (clients.confidential_id,)
    kwargs = {
        "client_credential": clients.confidential_secret,
        "oidc_authority": provider.issuer,
        "verify": str(provider.ca_path),
        "dpop": True,
        **kw,
    }
    if aio:
        app = blocking_app(tokensmith.aio.ConfidentialClientApplication, *args, **kwargs)
    else:
        app = tokensmith.ConfidentialClientApplication(*args, **kwargs)
    apps.append(app)
    return app


def _public(provider: OidcProvider, apps: list[Any], **kw: Any) -> Any:
    app = tokensmith.PublicClientApplication(
        provider.clients.public_id,
        oidc_authority=provider.issuer,
        verify=str(provider.ca_path),
        **{"dpop": True, **kw},
    )
    apps.append(app)
    return app


def _bound_to(token: str) -> str:
    claims = decode_jwt_claims(token, "access token")
    jkt: str = claims["cnf"]["jkt"]
    return jkt


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
def test_client_credentials_token_is_bound_after_the_nonce_retry(
    oidc_provider: OidcProvider, apps: list[Any], aio: bool
) -> None:
    app = _confidential(oidc_provider, apps, aio=aio)
    cid = oidc_provider.clients.confidential_id
    before = oidc_provider.token_requests(cid, "client_credentials")
    result = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert result.get("token_type") == "DPoP", result.get("error_description")
    assert _bound_to(result["access_token"]) == app.dpop_key.jkt
    # the first proof had no nonce: use_dpop_nonce, then one retry with the provider's
    assert oidc_provider.token_requests(cid, "client_credentials") == before + 2
    again = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert again["token_source"] == "cache" and again["token_type"] == "DPoP"
    assert again["access_token"] == result["access_token"]
    app.remove_tokens_for_client()
    app.acquire_token_for_client([SCOPE_DEFAULT])  # the kept nonce is used at once
    assert oidc_provider.token_requests(cid, "client_credentials") == before + 3


def test_bound_token_is_not_served_to_an_app_without_the_key(
    oidc_provider: OidcProvider, apps: list[Any]
) -> None:
    cache = tokensmith.SerializableTokenCache()
    bound = _confidential(oidc_provider, apps, token_cache=cache)
    assert bound.acquire_token_for_client([SCOPE_DEFAULT])["token_type"] == "DPoP"
    plain = _confidential(oidc_provider, apps, token_cache=cache, dpop=None)
    result = plain.acquire_token_for_client([SCOPE_DEFAULT])
    assert result["token_source"] == "identity_provider"
    assert result["token_type"].lower() == "bearer"
    assert "cnf" not in decode_jwt_claims(result["access_token"], "access token")


def test_device_flow_refresh_needs_the_same_key(
    oidc_provider: OidcProvider, apps: list[Any]
) -> None:
    cache = tokensmith.SerializableTokenCache()
    app = _public(oidc_provider, apps, token_cache=cache)
    flow = app.initiate_device_flow([SCOPE_READ])
    oidc_provider.complete_device_login(flow["verification_uri"], flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    assert result.get("token_type") == "DPoP", result.get("error_description")
    assert _bound_to(result["access_token"]) == app.dpop_key.jkt
    (account,) = app.get_accounts()
    refreshed = app.acquire_token_silent([SCOPE_READ], account, force_refresh=True)
    assert refreshed is not None and refreshed.get("token_type") == "DPoP", refreshed
    assert _bound_to(refreshed["access_token"]) == app.dpop_key.jkt

    # the key kept in the cache comes back with it: the refresh token stays usable
    restored = tokensmith.SerializableTokenCache()
    restored.deserialize(cache.serialize())
    later = _public(oidc_provider, apps, token_cache=restored)
    assert later.dpop_key.jkt == app.dpop_key.jkt
    (account,) = later.get_accounts()
    assert later.acquire_token_silent([SCOPE_READ], account, force_refresh=True) is not None

    # another key: the provider refuses the bound refresh token
    other = _public(oidc_provider, apps, token_cache=cache, dpop=DPoPKey.generate())
    (account,) = other.get_accounts()
    failed = other.acquire_token_silent_with_error([SCOPE_READ], account, force_refresh=True)
    assert failed is not None and failed.get("error") in ("invalid_grant", "invalid_dpop_proof")


def test_resource_checks_the_proofs_of_a_provider_token(
    oidc_provider: OidcProvider, apps: list[Any]
) -> None:
    app = _confidential(oidc_provider, apps)
    token = app.acquire_token_for_client([SCOPE_DEFAULT])["access_token"]
    resource = Resource(DPoPVerifier(), {token: _bound_to(token)})
    resource.nonce = "rs-nonce-1"
    auth = DPoPAuth(app.dpop_key, lambda: app.acquire_token_for_client([SCOPE_DEFAULT]))
    with serve(resource) as base, httpx.Client() as client:
        response = client.get(f"{base}/items?page=1", auth=auth)
        assert response.status_code == 200, response.headers
        assert len(resource.seen) == 2  # the resource's nonce challenge, then the retry
        stolen = httpx.get(f"{base}/items", headers={"Authorization": f"DPoP {token}"})
        assert stolen.status_code == 401  # the token alone, without a proof, is refused
        thief = DPoPAuth(DPoPKey.generate(), token)
        assert client.get(f"{base}/items", auth=thief).status_code == 401


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_every_listed_algorithm_works(
    oidc_provider: OidcProvider, apps: list[Any], alg: str
) -> None:
    app = _confidential(oidc_provider, apps, dpop=DPoPKey.generate(alg))
    result = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert result.get("token_type") == "DPoP", result.get("error_description")
    assert _bound_to(result["access_token"]) == app.dpop_key.jkt


def test_an_unlisted_algorithm_is_refused_before_sending(
    oidc_provider: OidcProvider, apps: list[Any]
) -> None:
    cid = oidc_provider.clients.confidential_id
    before = oidc_provider.token_requests(cid, "client_credentials")
    app = _confidential(oidc_provider, apps, dpop=DPoPKey.generate("RS256"))
    result = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert result["error"] == "invalid_request" and "RS256" in result["error_description"]
    assert oidc_provider.token_requests(cid, "client_credentials") == before
