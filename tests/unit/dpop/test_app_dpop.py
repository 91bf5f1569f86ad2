"""DPoP through the applications: every flow sends a fresh proof, nonces are honoured,
Bearer answers refused, bound tokens cached with their key (RFC 9449 §5, §8, §10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from tests._aio import blocking_app
from tests.unit.application.fake_entra import TENANT, FakeEntra
from tests.unit.dpop.fake_as import DPoPServer

import tokensmith
import tokensmith.aio
from tokensmith._clock import FakeClock
from tokensmith._jwt import decode_json_part
from tokensmith.authority import memo
from tokensmith.protocol.dpop import DPoPKey
from tokensmith.protocol.oidc.nonce import nonce_hash

AUTHORITY = f"https://login.microsoftonline.com/{TENANT}"
TOKEN_ENDPOINT = f"{AUTHORITY}/oauth2/v2.0/token"
SCOPES = ["https://graph.example/.default"]
READ = ["User.Read"]


@pytest.fixture(autouse=True)
def _fresh_discovery() -> None:
    """Discovery is memoized per process; these tests change the provider's document."""
    memo.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> DPoPServer:
    return DPoPServer(FakeEntra(clock))


@pytest.fixture
def cca(server: DPoPServer, clock: FakeClock) -> Callable[..., Any]:
    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("dpop", True)
        return tokensmith.ConfidentialClientApplication(
            kwargs.pop("client_id", "cca-client"),
            "s3cret",
            authority=AUTHORITY,
            transport=server.transport,
            clock=clock,
            sleep=clock.sleep,
            **kwargs,
        )

    return make


@pytest.fixture
def pca(server: DPoPServer, clock: FakeClock) -> Callable[..., Any]:
    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("dpop", True)
        return tokensmith.PublicClientApplication(
            "pca-client",
            authority=AUTHORITY,
            transport=server.transport,
            clock=clock,
            sleep=clock.sleep,
            **kwargs,
        )

    return make


def proof_claims(request: Any) -> dict[str, Any]:
    return decode_json_part(request.headers["DPoP"].split(".")[1])


def test_client_credentials_token_is_dpop_bound_and_cached_with_its_key(
    cca: Any, server: DPoPServer, clock: FakeClock
) -> None:
    app = cca()
    result = app.acquire_token_for_client(SCOPES)
    assert result["token_type"] == "DPoP", result
    (request,) = server.requests
    claims = proof_claims(request)
    assert claims["htm"] == "POST" and claims["htu"] == TOKEN_ENDPOINT
    assert server.proofs[0].jkt == app.dpop_key.jkt
    again = app.acquire_token_for_client(SCOPES)
    assert again["access_token"] == result["access_token"]
    assert again["token_type"] == "DPoP"
    assert len(server.requests) == 1
    (entry,) = app.token_cache.search("AccessToken", now=clock())
    assert entry["token_type"] == "DPoP" and entry["key_id"] == app.dpop_key.jkt


def test_bound_token_is_never_served_as_bearer_or_to_another_key(
    cca: Any, server: DPoPServer
) -> None:
    first = cca()
    first.acquire_token_for_client(SCOPES)
    other_key = cca(dpop=DPoPKey.generate(), token_cache=first.token_cache)
    assert other_key.dpop_key.jkt != first.dpop_key.jkt
    assert other_key.acquire_token_for_client(SCOPES)["token_type"] == "DPoP"
    assert len(server.requests) == 2
    server.bearer = True
    plain = cca(dpop=None, token_cache=first.token_cache)
    assert plain.acquire_token_for_client(SCOPES)["token_type"] == "Bearer"
    assert len(server.requests) == 3


def test_every_token_request_has_a_fresh_proof(cca: Any, server: DPoPServer) -> None:
    app = cca()
    for _ in range(3):
        app.acquire_token_for_client(SCOPES, force_refresh=False, claims_challenge=None)
        app.remove_tokens_for_client()
    jtis = {proof_claims(r)["jti"] for r in server.requests}
    assert len(jtis) == 3


def test_server_nonce_is_retried_once_then_kept(cca: Any, server: DPoPServer) -> None:
    server.nonce = "n-1"
    app = cca()
    assert app.acquire_token_for_client(SCOPES)["token_type"] == "DPoP"
    assert len(server.requests) == 2
    assert "nonce" not in proof_claims(server.requests[0])
    assert proof_claims(server.requests[1])["nonce"] == "n-1"
    app.remove_tokens_for_client()
    app.acquire_token_for_client(SCOPES)
    assert len(server.requests) == 3  # the kept nonce is used at once
    assert proof_claims(server.requests[2])["nonce"] == "n-1"


def test_rotated_nonce_is_used_next_time(cca: Any, server: DPoPServer) -> None:
    server.nonce, server.rotate = "n-1", True
    app = cca()
    app.acquire_token_for_client(SCOPES)
    app.remove_tokens_for_client()
    app.acquire_token_for_client(SCOPES)
    assert [proof_claims(r).get("nonce") for r in server.requests] == [
        None,
        "n-1",
        "n-rotated-1",
    ]


def test_nonce_retry_happens_once_only(cca: Any, server: DPoPServer) -> None:
    server.sticky_nonce_error = True
    result = cca().acquire_token_for_client(SCOPES)
    assert result["error"] == "use_dpop_nonce"
    assert len(server.requests) == 2


def test_bearer_answer_is_refused_and_not_cached(
    cca: Any, server: DPoPServer, clock: FakeClock
) -> None:
    server.bearer = True
    app = cca()
    result = app.acquire_token_for_client(SCOPES)
    assert result["error"] == "invalid_response"
    assert "DPoP" in result["error_description"]
    assert list(app.token_cache.search("AccessToken", now=clock())) == []


def test_on_behalf_of_sends_a_proof(cca: Any, server: DPoPServer) -> None:
    app = cca()
    result = app.acquire_token_on_behalf_of("incoming.user.assertion", READ)
    assert result["token_type"] == "DPoP", result
    assert "DPoP" in server.requests[0].headers
    again = app.acquire_token_on_behalf_of("incoming.user.assertion", READ)
    assert again["access_token"] == result["access_token"]
    assert len(server.requests) == 1


def test_auth_code_binds_the_code_to_the_key(cca: Any, server: DPoPServer) -> None:
    app = cca()
    flow = app.initiate_auth_code_flow(
        READ, redirect_uri="http://localhost/cb", response_mode="form_post"
    )
    query = parse_qs(urlparse(flow["auth_uri"]).query)
    assert query["dpop_jkt"] == [app.dpop_key.jkt]
    server.id_claims = {"nonce": nonce_hash(flow["nonce"])}
    result = app.acquire_token_by_auth_code_flow(flow, {"code": "c-1", "state": flow["state"]})
    assert result["token_type"] == "DPoP", result
    assert server.proofs[0].jkt == app.dpop_key.jkt


def test_device_code_then_silent_refresh_with_the_same_key(
    pca: Any, server: DPoPServer, clock: FakeClock
) -> None:
    server.entra.extra = {"scope": "User.Read openid profile offline_access"}
    app = pca()
    flow = app.initiate_device_flow(READ)
    result = app.acquire_token_by_device_flow(flow)
    assert result["token_type"] == "DPoP", result
    (account,) = app.get_accounts()
    assert app.acquire_token_silent(READ, account)["token_type"] == "DPoP"
    assert len(server.requests) == 1  # served from the cache
    clock.advance(4000)
    refreshed = app.acquire_token_silent(READ, account)
    assert refreshed["token_type"] == "DPoP", refreshed
    assert [p.jkt for p in server.proofs] == [app.dpop_key.jkt] * 2
    assert server.requests[1].data["grant_type"] == "refresh_token"


def test_the_key_is_kept_with_the_cache_so_the_refresh_token_stays_usable(
    pca: Any, server: DPoPServer, clock: FakeClock
) -> None:
    cache = tokensmith.SerializableTokenCache()
    app = pca(token_cache=cache)
    app.acquire_token_by_device_flow(app.initiate_device_flow(READ))
    saved = cache.serialize()
    assert "DPoPKey" in json.loads(saved)
    clock.advance(4000)
    restored = tokensmith.SerializableTokenCache()
    restored.deserialize(saved)
    later = pca(token_cache=restored)
    assert later.dpop_key.jkt == app.dpop_key.jkt
    (account,) = later.get_accounts()
    assert later.acquire_token_silent(READ, account)["token_type"] == "DPoP"
    # a cache without the key: a new key, and the bound refresh token is refused
    bare = json.loads(saved)
    del bare["DPoPKey"]
    lost = tokensmith.SerializableTokenCache()
    lost.deserialize(json.dumps(bare))
    fresh = pca(token_cache=lost)
    assert fresh.dpop_key.jkt != app.dpop_key.jkt
    (account,) = fresh.get_accounts()
    assert fresh.acquire_token_silent(READ, account) is None


def test_async_application_sends_proofs(server: DPoPServer, clock: FakeClock) -> None:
    from tokensmith.transport.mock import AsyncMockTransport

    transport = AsyncMockTransport(server.handle)
    app = blocking_app(
        tokensmith.aio.ConfidentialClientApplication,
        "cca-client",
        "s3cret",
        authority=AUTHORITY,
        transport=transport,
        clock=clock,
        dpop=True,
    )
    try:
        assert app.acquire_token_for_client(SCOPES)["token_type"] == "DPoP"
        assert "DPoP" in server.requests[0].headers
    finally:
        app.close()


@pytest.mark.parametrize("value", ["yes", 1, object()])
def test_dpop_option_must_be_true_or_a_key(cca: Any, value: Any) -> None:
    with pytest.raises(ValueError, match="dpop"):
        cca(dpop=value)


def test_dpop_off_has_no_key(cca: Any) -> None:
    assert cca(dpop=None).dpop_key is None


def test_a_new_key_uses_an_algorithm_the_provider_lists(cca: Any, server: DPoPServer) -> None:
    server.algs = ["RS512", "PS256", "ES256"]
    app = cca()
    assert app.acquire_token_for_client(SCOPES)["token_type"] == "DPoP"
    assert app.dpop_key.alg == "ES256"  # tokensmith's first choice, listed
    server.algs = ["EdDSA", "RS256"]
    memo.clear()  # the provider changed its document
    other = cca(client_id="another-client")
    assert other.acquire_token_for_client(SCOPES)["token_type"] == "DPoP"
    assert other.dpop_key.alg == "EdDSA"


def test_a_given_key_of_an_unlisted_algorithm_is_refused_before_sending(
    cca: Any, server: DPoPServer
) -> None:
    server.algs = ["PS256"]
    app = cca(dpop=DPoPKey.generate("ES256"))
    result = app.acquire_token_for_client(SCOPES)
    assert result["error"] == "invalid_request"
    assert "ES256" in result["error_description"] and "PS256" in result["error_description"]
    assert server.requests == []


def test_a_silent_lookup_makes_no_key(pca: Any, server: DPoPServer) -> None:
    app = pca()
    assert app.get_accounts() == []
    assert app.acquire_token_silent(READ, {"home_account_id": "x", "environment": "y"}) is None
    assert list(app.token_cache.search("DPoPKey")) == []
