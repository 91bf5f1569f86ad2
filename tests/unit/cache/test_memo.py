"""find_access_token remembers its answers; a remembered answer is never stale."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.unit.cache._helpers import CLIENT_ID, ENV, GRAPH_DEFAULT, NOW, app_event

from tokensmith.cache import SerializableTokenCache, TokenCache
from tokensmith.errors import ConfigurationError

TENANT = "contoso.example"


def _find(cache: TokenCache, now: float = NOW, **kw: Any) -> dict[str, Any] | None:
    args: dict[str, Any] = dict(
        home_account_id=None,
        environments=(ENV,),
        client_id=CLIENT_ID,
        realm=TENANT,
        scopes=[GRAPH_DEFAULT],
        now=now,
    )
    args.update(kw)
    return cache.find_access_token(**args)


def _secret(entry: dict[str, Any] | None) -> str | None:
    return None if entry is None else entry["secret"]


def test_a_repeated_lookup_is_answered_from_the_memo_without_touching_the_index() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    first = _find(cache)
    examined = cache._index.examined
    assert _find(cache) is first
    assert cache._index.examined == examined  # the second answer came from the memo


def test_a_newer_token_replaces_the_remembered_one() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    assert _secret(_find(cache)) == "app-at-" + GRAPH_DEFAULT
    cache.add(app_event(access_token="newer", expires_in=7200), now=NOW)
    assert _secret(_find(cache)) == "newer"


def test_an_expired_remembered_token_is_not_returned_and_is_kept() -> None:
    cache = TokenCache()
    cache.add(app_event(expires_in=100), now=NOW)
    assert _find(cache) is not None
    assert _find(cache, now=NOW + 101) is None
    assert len(cache._cache["AccessToken"]) == 1  # lookups are pure reads


def test_an_entry_removed_behind_the_caches_back_is_not_returned() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    assert _find(cache) is not None
    cache._cache["AccessToken"].clear()  # no modify(): only the entry identity tells
    assert _find(cache) is None


def test_an_entry_edited_in_place_to_expire_is_not_returned() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    entry = _find(cache)
    assert entry is not None
    entry["expires_on"] = str(NOW - 1)
    assert _find(cache) is None


def test_deserialize_forgets_remembered_answers() -> None:
    cache = SerializableTokenCache()
    cache.add(app_event(), now=NOW)
    assert _find(cache) is not None
    state = json.loads(cache.serialize())
    for entry in state["AccessToken"].values():
        entry["secret"] = "reloaded"
    cache.deserialize(json.dumps(state))
    assert _secret(_find(cache)) == "reloaded"


def test_unhashable_or_bad_arguments_still_get_the_documented_errors() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    assert _find(cache, scopes={GRAPH_DEFAULT}) is not None  # a set is a fine collection
    with pytest.raises(ConfigurationError, match="scopes"):
        _find(cache, scopes=[["nested"]])
