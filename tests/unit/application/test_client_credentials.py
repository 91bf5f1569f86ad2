from __future__ import annotations

import threading
from typing import Any

import pytest
from tests.unit.application.fake_entra import TENANT, FakeEntra

from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

SCOPE = ["https://graph.microsoft.com/.default"]


def test_first_call_goes_to_the_network_then_the_cache_answers(
    make_cca: Any, entra: FakeEntra
) -> None:
    app = make_cca()
    first = app.acquire_token_for_client(SCOPE)
    assert first["access_token"] == "at-1"
    assert first["token_source"] == "identity_provider"
    second = app.acquire_token_for_client(SCOPE)
    assert second == {
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 3600,
        "token_source": "cache",
    }
    assert entra.tokens_posted() == 1
    form = entra.token_requests[0]
    assert form["grant_type"] == "client_credentials"
    assert form["client_secret"] == "s3cret"
    assert form["scope"] == SCOPE[0]


def test_result_offers_attributes_and_hides_secrets_in_repr(make_cca: Any) -> None:
    result = make_cca().acquire_token_for_client(SCOPE)
    assert result.access_token == "at-1"
    assert result.ok
    assert "at-1" not in repr(result)
    assert "at-1" not in str(result)


def test_wrong_secret_returns_the_providers_error_dict(make_cca: Any, entra: FakeEntra) -> None:
    error = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.",
        "error_codes": [7000215],
        "correlation_id": "c-1",
    }
    entra.token_handler = lambda form: json_response(error, 401)
    result = make_cca().acquire_token_for_client(SCOPE)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert "access_token" not in result


def test_force_refresh_is_refused_like_msal(make_cca: Any) -> None:
    with pytest.raises(ValueError):
        make_cca().acquire_token_for_client(SCOPE, force_refresh=True)


def test_common_authority_warns(make_cca: Any) -> None:
    app = make_cca(authority="https://login.microsoftonline.com/common")
    with pytest.warns(DeprecationWarning):
        app.acquire_token_for_client(SCOPE)


def test_claims_challenge_bypasses_the_cache(make_cca: Any, entra: FakeEntra) -> None:
    app = make_cca()
    app.acquire_token_for_client(SCOPE)
    fresh = app.acquire_token_for_client(
        SCOPE, claims_challenge='{"access_token": {"nbf": {"essential": true}}}'
    )
    assert fresh["token_source"] == "identity_provider"
    assert entra.tokens_posted() == 2
    assert "claims" in entra.token_requests[1]


def test_per_request_authority_uses_that_tenant(make_cca: Any, entra: FakeEntra) -> None:
    app = make_cca()
    other = "0a1b2c3d-0000-4000-8000-000000000001"
    app.acquire_token_for_client(SCOPE)
    result = app.acquire_token_for_client(
        SCOPE, authority=f"https://login.microsoftonline.com/{other}"
    )
    assert result["token_source"] == "identity_provider"
    assert entra.tokens_posted() == 2
    realms = {e["realm"] for e in app.token_cache._cache["AccessToken"].values()}
    assert realms == {TENANT, other}


def test_thirty_two_threads_send_one_request(make_cca: Any, entra: FakeEntra) -> None:
    gate = threading.Event()
    issue = entra.issue

    def slow(form: dict[str, str]) -> HttpResponse:
        gate.wait(5)
        return issue(form)

    entra.token_handler = slow
    app = make_cca()
    results: list[Any] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        results.append(app.acquire_token_for_client(SCOPE))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    threading.Timer(0.3, gate.set).start()
    for t in threads:
        t.join(10)
    assert len(results) == 32
    assert all(r["access_token"] == "at-1" for r in results)
    assert entra.tokens_posted() == 1


def test_remove_tokens_for_client(make_cca: Any, entra: FakeEntra) -> None:
    app = make_cca()
    app.acquire_token_for_client(SCOPE)
    app.remove_tokens_for_client()
    assert app.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    assert entra.tokens_posted() == 2


def test_expired_token_is_replaced(make_cca: Any, entra: FakeEntra, clock: Any) -> None:
    app = make_cca()
    app.acquire_token_for_client(SCOPE)
    clock.advance(3600 - 299)  # inside the five-minute margin
    assert app.acquire_token_for_client(SCOPE)["access_token"] == "at-2"
