"""Lookups cost O(1) / O(entries of one account or group), never O(cache size).

Measured with the index's ``examined`` counter (postings and entries looked at), not
with wall time: the same lookups on a cache 100x larger must examine the same number
of entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.cache._helpers import CLIENT_ID, GRAPH_DEFAULT, NOW, app_event

from tokensmith.cache import SerializableTokenCache, TokenCache
from tokensmith.cache.schema import make_key_makers

ENV = "login.microsoftonline.com"
APP = "app-client"
PUB = "public-client"
KEYS = make_key_makers()


def _state(n_app_tokens: int, n_users: int) -> dict[str, Any]:
    """A cache with ``n_app_tokens`` client-credential tokens in one group and
    ``n_users`` signed-in users (AT, RT, IdToken, Account each)."""
    state: dict[str, dict[str, Any]] = {
        s: {} for s in ("AccessToken", "RefreshToken", "IdToken", "Account")
    }
    common = {
        "environment": ENV,
        "cached_at": str(NOW),
        "expires_on": str(NOW + 3600),
        "extended_expires_on": str(NOW + 3600),
        "token_type": "Bearer",
    }
    for i in range(n_app_tokens):
        at = {
            "credential_type": "AccessToken",
            "secret": f"s{i}",
            "home_account_id": None,
            "client_id": APP,
            "realm": "tenant",
            "target": f"api://res{i}/.default",
            **common,
        }
        state["AccessToken"][KEYS["AccessToken"](**at)] = at
    for u in range(n_users):
        home = f"user{u}.tid"
        at = {
            "credential_type": "AccessToken",
            "secret": f"u{u}",
            "home_account_id": home,
            "client_id": PUB,
            "realm": "common",
            "target": "User.Read offline_access openid profile",
            **common,
        }
        rt = {
            "credential_type": "RefreshToken",
            "secret": f"r{u}",
            "home_account_id": home,
            "environment": ENV,
            "client_id": PUB,
            "target": at["target"],
            "last_modification_time": str(NOW),
            "family_id": "1",
        }
        idt = {
            "credential_type": "IdToken",
            "secret": "a.b.c",
            "home_account_id": home,
            "environment": ENV,
            "realm": "common",
            "client_id": PUB,
        }
        acct = {
            "home_account_id": home,
            "environment": ENV,
            "realm": "common",
            "local_account_id": f"user{u}",
            "username": f"User{u}@Contoso.example",
            "authority_type": "MSSTS",
        }
        for section, entry in (
            ("AccessToken", at),
            ("RefreshToken", rt),
            ("IdToken", idt),
            ("Account", acct),
        ):
            state[section][KEYS[section](**entry)] = entry
    state["AppMetadata"] = {
        f"appmetadata-{ENV}-{c}": {"client_id": c, "environment": ENV} for c in (APP, PUB)
    }
    return state


def _lookups() -> dict[str, Callable[[TokenCache], object]]:
    home = "user7.tid"
    user_q = {"home_account_id": home, "environment": ENV, "client_id": PUB, "realm": "common"}
    app_q = {"home_account_id": None, "environment": ENV, "client_id": APP, "realm": "tenant"}
    return {
        "app token hit": lambda c: c.find_access_token(
            home_account_id=None,
            environments=[ENV],
            client_id=APP,
            realm="tenant",
            scopes=["api://res5/.default"],
            now=NOW,
        ),
        "app token miss": lambda c: c.find_access_token(
            home_account_id=None,
            environments=[ENV, "alias.example"],
            client_id=APP,
            realm="tenant",
            scopes=["api://unknown/.default"],
            now=NOW,
        ),
        "user token subset hit": lambda c: c.find_access_token(
            home_account_id=home,
            environments=[ENV],
            client_id=PUB,
            realm="common",
            scopes=["user.read"],
            now=NOW,
        ),
        "refresh tokens": lambda c: c.find_refresh_tokens(
            home_account_id=home, environments=[ENV], family_id="1"
        ),
        "accounts by home": lambda c: c.find_accounts(home_account_id=home),
        "accounts by username": lambda c: c.find_accounts(
            environments=[ENV], username="user7@contoso.example"
        ),
        "id token": lambda c: c.find_id_token(
            home_account_id=home, environments=[ENV], realm=None, client_id=PUB
        ),
        "app metadata": lambda c: c.get_app_metadata(environment=ENV, client_id=PUB),
        "search user AT": lambda c: list(c.search("AccessToken", ["User.Read"], user_q, now=NOW)),
        "search app AT": lambda c: list(
            c.search("AccessToken", ["api://res9/.default"], app_q, now=NOW)
        ),
        "search app AT miss": lambda c: list(
            c.search("AccessToken", ["api://nope"], app_q, now=NOW)
        ),
        "search RTs": lambda c: list(
            c.search("RefreshToken", query={"home_account_id": home, "environment": ENV})
        ),
        "search accounts": lambda c: list(c.search("Account", query={"home_account_id": home})),
        "forget account": lambda c: c.forget_account(
            home_account_id=home, environments=[ENV], client_id=PUB
        ),
    }


@pytest.fixture(scope="module")
def caches() -> tuple[SerializableTokenCache, SerializableTokenCache]:
    small, large = SerializableTokenCache(), SerializableTokenCache()
    small.deserialize(json.dumps(_state(1_000, 100)))
    large.deserialize(json.dumps(_state(100_000, 10_000)))
    return small, large


@pytest.mark.parametrize("name", list(_lookups()))
def test_lookup_examines_the_same_entries_at_1k_and_100k(
    name: str, caches: tuple[SerializableTokenCache, SerializableTokenCache]
) -> None:
    lookup = _lookups()[name]
    counts = []
    results = []
    for cache in caches:
        before = cache._index.examined
        results.append(lookup(cache))
        counts.append(cache._index.examined - before)
    assert counts[0] == counts[1], (name, counts)
    assert counts[1] <= 8, (name, counts)
    assert repr(results[0]) == repr(results[1])  # same answer too (same generated entries)


def test_a_query_naming_no_indexed_field_does_scan() -> None:
    """The counter is real: an unindexable search is charged the whole section."""
    cache = SerializableTokenCache()
    cache.deserialize(json.dumps(_state(50, 5)))
    before = cache._index.examined
    list(cache.search("AccessToken", query={"token_type": "Bearer"}, now=NOW))
    assert cache._index.examined - before == 55


def test_filling_20k_client_credential_tokens_never_rebuilds_the_index() -> None:
    """add() only touches the written keys: the index is never rebuilt or scanned."""
    cache = TokenCache()
    index = cache._index
    for i in range(20_000):
        cache.add(app_event(f"api://res{i}/.default"), now=NOW)
    assert cache._index is index
    assert index.examined == 0
    assert len(index.at_groups) == 1
    assert len(cache._cache["AccessToken"]) == 20_000


def test_app_tokens_of_many_tenants_are_not_one_scope_group() -> None:
    """A multi-tenant service holds the same scope in every tenant: app-only tokens are
    grouped per environment, client and tenant, so a lookup in one tenant examines
    that tenant's token only (a user's tokens are grouped by account alone)."""
    cache = TokenCache()
    for i in range(2_000):
        # (two scopes, so that asking for one is no exact-key hit: the groups answer)
        cache.add(
            app_event(f"{GRAPH_DEFAULT} api://extra/.default", tenant=f"tenant{i}.example"), now=NOW
        )
    cache.build_indexes()
    index = cache._index
    before = index.examined
    found = cache.find_access_token(
        home_account_id=None,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="tenant1234.example",
        scopes=[GRAPH_DEFAULT],
        now=NOW,
    )
    assert found is not None and found["realm"] == "tenant1234.example"
    assert index.examined - before == 1
    assert len(index.at_groups) == 2_000


def test_a_users_tokens_in_several_clients_and_tenants_each_answer_their_own() -> None:
    """One account's tokens share a scope group; the lookup re-checks client and tenant."""
    state = _state(0, 1)
    ((_, at),) = state["AccessToken"].items()
    for client in (PUB, "other-client"):
        for realm in ("common", "tenant-a", "tenant-b"):
            entry = {**at, "client_id": client, "realm": realm, "secret": f"{client}/{realm}"}
            state["AccessToken"][KEYS["AccessToken"](**entry)] = entry
    cache = SerializableTokenCache()
    cache.deserialize(json.dumps(state))
    cache.build_indexes()
    for client in (PUB, "other-client"):
        for realm in ("common", "tenant-a", "tenant-b"):
            found = cache.find_access_token(
                home_account_id="user0.tid",
                environments=["alias.example", ENV],
                client_id=client,
                realm=realm,
                scopes=["user.read"],
                now=NOW,
            )
            assert found is not None and found["secret"] == f"{client}/{realm}"
    assert len(cache._index.at_groups) == 1
