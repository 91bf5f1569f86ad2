"""What a silent cache hit answers, and the arguments it checks first
(tokensmith.engine.silent, cache_first, results): the parts of the hit path that were
made cheaper, each pinned to the behaviour it must keep."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.unit.application.fake_entra import HOST, TENANT, FakeEntra

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.engine.results import TokenResult, cache_hit_result

AUTHORITY = f"https://{HOST}/{TENANT}"
READ = ["User.Read"]
CP1 = {"access_token": {"xms_cc": {"values": ["CP1"]}}}


def _signed_in(**options: Any) -> tuple[Any, FakeEntra, FakeClock, Any]:
    clock = FakeClock()
    entra = FakeEntra(clock)
    app = tokensmith.PublicClientApplication(
        "pca-client", authority=AUTHORITY, transport=entra.transport, clock=clock, **options
    )
    assert "access_token" in app.acquire_token_by_refresh_token("rt-0", READ)
    [account] = app.get_accounts()
    return app, entra, clock, account


def test_a_hit_has_msal_keys_in_msal_order() -> None:
    entry = {"secret": "at", "expires_on": "2000"}
    assert list(cache_hit_result(entry, 1000.5).items()) == [
        ("access_token", "at"),
        ("token_type", "Bearer"),
        ("expires_in", 999),
        ("token_source", "cache"),
    ]
    entry.update(token_type="pop", refresh_on="1500")
    hit = cache_hit_result(entry, 1000, 2000)
    assert type(hit) is TokenResult
    assert list(hit.items()) == [
        ("access_token", "at"),
        ("token_type", "pop"),
        ("expires_in", 1000),
        ("token_source", "cache"),
        ("refresh_on", 1500),
    ]


def test_a_silent_hit_through_the_facade_is_that_dict() -> None:
    app, entra, clock, account = _signed_in()
    posted = len(entra.token_requests)
    clock.advance(600)
    hit = app.acquire_token_silent(READ, account)
    assert list(hit) == ["access_token", "token_type", "expires_in", "token_source"]
    assert hit["token_source"] == "cache" and hit["expires_in"] == entra.expires_in - 600
    assert len(entra.token_requests) == posted


@pytest.mark.parametrize("account", [[], 0, "", False, ()])
def test_a_falsy_account_that_is_no_mapping_is_a_value_error(account: Any) -> None:
    app, *_ = _signed_in()
    with pytest.raises(ValueError, match="account"):
        app.acquire_token_silent(READ, account)


@pytest.mark.parametrize("account", [None, {}])
def test_no_account_is_no_answer(account: Any) -> None:
    app, entra, _, _ = _signed_in()
    posted = len(entra.token_requests)
    assert app.acquire_token_silent(READ, account) is None
    assert app.acquire_token_silent_with_error(READ, account) is None
    assert len(entra.token_requests) == posted


def test_a_refresh_without_a_challenge_sends_the_capabilities_claims() -> None:
    app, entra, clock, account = _signed_in(client_capabilities=["CP1"])
    clock.advance(2 * entra.expires_in)  # expired: the silent call refreshes
    assert app.acquire_token_silent(READ, account)["token_source"] == "identity_provider"
    assert json.loads(entra.token_requests[-1]["claims"]) == CP1


def test_a_challenge_is_merged_with_the_capabilities_on_each_call() -> None:
    app, entra, _, account = _signed_in(client_capabilities=["CP1"])
    challenge = '{"access_token": {"nbf": {"essential": true, "value": "1"}}}'
    assert app.acquire_token_silent(READ, account, claims_challenge=challenge) is not None
    sent = json.loads(entra.token_requests[-1]["claims"])
    assert sent == {
        "access_token": {"nbf": {"essential": True, "value": "1"}, **CP1["access_token"]}
    }
    assert app.acquire_token_silent(READ, account, force_refresh=True) is not None
    assert json.loads(entra.token_requests[-1]["claims"]) == CP1  # the challenge was not kept
    with pytest.raises(ValueError):
        app.acquire_token_silent(READ, account, claims_challenge="[1]")
