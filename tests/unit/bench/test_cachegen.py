"""The generated caches are what MSAL Python itself would write, and load in msal."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import pytest
from bench import cachegen
from bench.fakehttp import FakeHttpClient

NOW = 1_800_000_000

msal: Any = importlib.import_module("msal")


def _msal_built_cache(users: tuple[cachegen.User, ...], target: str) -> dict[str, Any]:
    """The same users signed in through msal's own TokenCache.add()."""
    cache = msal.TokenCache()
    for user in users:
        event = {
            "client_id": cachegen.CLIENT_ID,
            "scope": target.split(),
            "token_endpoint": cachegen.TOKEN_ENDPOINT,
            "environment": cachegen.ENVIRONMENT,
            "grant_type": "authorization_code",
            "data": {},
            "response": {
                "access_token": user.access_token,
                "token_type": "Bearer",
                "expires_in": cachegen.TOKEN_LIFETIME,
                "refresh_token": user.refresh_token,
                "id_token": cachegen.id_token_for(user.uid, user.username, NOW),
                "client_info": cachegen.client_info_for(user.uid),
            },
        }
        cache.add(event, now=NOW)
    result: dict[str, Any] = cache._cache
    return result


@pytest.mark.parametrize("target", [cachegen.SUBSET_TARGET, cachegen.EXACT_TARGET])
def test_generated_cache_equals_the_one_msal_add_builds(target: str) -> None:
    generated = cachegen.generate_user_cache(3, now=NOW, target=target)
    ours = json.loads(generated.text_at(NOW))
    assert ours == _msal_built_cache(generated.users, target)


def test_msal_deserializes_it_and_finds_every_account_and_token() -> None:
    fresh = cachegen.generate_user_cache(25, now=int(time.time()))
    cache = msal.SerializableTokenCache()
    cache.deserialize(fresh.text_at(int(time.time())))
    app = msal.PublicClientApplication(
        cachegen.CLIENT_ID,
        authority=cachegen.AUTHORITY,
        token_cache=cache,
        http_client=FakeHttpClient(),
        instance_discovery=False,
    )
    accounts = app.get_accounts()
    assert sorted(a["username"] for a in accounts) == [u.username for u in fresh.users]
    user = fresh.users[17]
    (account,) = app.get_accounts(username=user.username)
    result = app.acquire_token_silent(["User.Read"], account)
    assert result["access_token"] == user.access_token
    assert result["token_source"] == "cache"
    assert cachegen.generate_user_cache(25, now=NOW).users == fresh.users  # seeded, not timed


def test_same_seed_same_text_and_a_different_seed_differs() -> None:
    first = cachegen.generate_user_cache(5, now=NOW)
    assert first.raw_text == cachegen.generate_user_cache(5, now=NOW).raw_text
    assert first.raw_text != cachegen.generate_user_cache(5, now=NOW, seed=7).raw_text


def test_expiring_users_get_their_expiry_when_loaded() -> None:
    generated = cachegen.generate_user_cache(4, now=NOW, expiring=[1, 3])
    soon = json.loads(generated.text_at(NOW + 50, expiring_soon=True))["AccessToken"]
    normal = json.loads(generated.text_at(NOW + 50))["AccessToken"]
    expiries = {entry["secret"]: entry["expires_on"] for entry in soon.values()}
    users = generated.users
    assert expiries[users[1].access_token] == str(NOW + 50 + cachegen.EXPIRING_LIFETIME)
    assert expiries[users[0].access_token] == str(NOW + cachegen.TOKEN_LIFETIME)
    assert {e["expires_on"] for e in normal.values()} == {
        str(NOW + cachegen.TOKEN_LIFETIME),
        str(NOW + 50 + cachegen.TOKEN_LIFETIME),
    }
    assert generated.expiring == (1, 3)


def test_app_cache_is_found_by_msal_client_credentials() -> None:
    generated = cachegen.generate_app_cache(10, now=int(time.time()))
    cache = msal.SerializableTokenCache()
    cache.deserialize(generated.text)
    http = FakeHttpClient()
    app = msal.ConfidentialClientApplication(
        cachegen.CLIENT_ID,
        client_credential="secret",
        authority=cachegen.AUTHORITY,
        token_cache=cache,
        http_client=http,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client([generated.scopes[6]])
    assert result["access_token"] == generated.secrets[6]
    assert http.post_count == 0


@pytest.mark.parametrize(("n", "target"), [(0, cachegen.SUBSET_TARGET), (2, "openid User.Read")])
def test_bad_arguments_are_rejected(n: int, target: str) -> None:
    with pytest.raises(ValueError):
        cachegen.generate_user_cache(n, now=NOW, target=target)
    with pytest.raises(ValueError):
        cachegen.generate_app_cache(-1, now=NOW)


def test_refresh_token_round_trip() -> None:
    user = cachegen.generate_user_cache(3, now=NOW).users[2]
    assert cachegen.parse_refresh_token(user.refresh_token) == (user.uid, cachegen.TENANT_ID, 2)
    assert cachegen.parse_refresh_token("not-ours") is None
    assert cachegen.parse_refresh_token("rt~a~b~notanint") is None
