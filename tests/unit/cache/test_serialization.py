"""``SerializableTokenCache``: JSON round trips, change tracking, bad input (§2.9)."""

from __future__ import annotations

import copy
import json

import pytest
from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, app_event, user_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.errors import ProtocolError


def _filled() -> SerializableTokenCache:
    cache = SerializableTokenCache()
    cache.add(user_event(foci="1"), now=NOW)
    cache.add(app_event(), now=NOW)
    return cache


def test_serialize_is_json_dumps_indent_4_and_clears_the_flag() -> None:
    cache = _filled()
    assert cache.has_state_changed
    text = cache.serialize()
    assert text == json.dumps(cache._cache, indent=4)
    assert not cache.has_state_changed


def test_round_trip_keeps_unknown_sections_fields_and_malformed_entries() -> None:
    state = json.loads(_filled().serialize())
    state["FutureSection"] = {"k": {"anything": [1, 2]}}
    state["ScalarSection"] = 7
    state["AccessToken"]["weird-key"] = "not an object"
    state["Account"]["bad"] = ["list", "entry"]
    for entry in state["AccessToken"].values():
        if isinstance(entry, dict):
            entry["x_unknown_field"] = {"nested": True}
    cache = SerializableTokenCache()
    cache.deserialize(json.dumps(state))
    assert not cache.has_state_changed
    assert json.loads(cache.serialize()) == state
    # Malformed entries are kept but never returned.
    accounts = cache.find_accounts()
    assert [a["home_account_id"] for a in accounts] == [HOME]
    assert all(isinstance(e, dict) for e in cache.search("AccessToken"))


def test_non_object_sections_are_kept_until_written_over() -> None:
    cache = SerializableTokenCache()
    cache.deserialize(json.dumps({"AccessToken": "garbage", "Account": None}))
    assert list(cache.search("AccessToken")) == []
    assert cache.find_accounts() == []
    cache.add(app_event(), now=NOW)
    assert isinstance(cache._cache["AccessToken"], dict) and len(cache._cache["AccessToken"]) == 1
    found = cache.find_access_token(
        home_account_id=None,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="contoso.example",
        scopes=["https://graph.microsoft.com/.default"],
        now=NOW,
    )
    assert found is not None


@pytest.mark.parametrize("state", [None, ""])
def test_empty_state_means_empty_cache(state: str | None) -> None:
    cache = _filled()
    cache.deserialize(state)
    assert cache._cache == {}
    assert cache.find_accounts() == []


@pytest.mark.parametrize("state", ["{not json", "[1, 2]", '"text"', "42", "null", b"\xff\xfe"])
def test_bad_state_raises_and_keeps_the_current_state(state: str | bytes) -> None:
    cache = _filled()
    before = copy.deepcopy(cache._cache)
    cache.has_state_changed = True
    with pytest.raises(ProtocolError):
        cache.deserialize(state)
    assert cache._cache == before
    assert cache.has_state_changed
    assert len(cache.find_accounts()) == 1


def test_int_timestamps_are_accepted_on_read() -> None:
    state = json.loads(_filled().serialize())
    for entry in state["AccessToken"].values():
        entry["expires_on"] = int(entry["expires_on"])
    for entry in state["RefreshToken"].values():
        entry["last_modification_time"] = int(entry["last_modification_time"])
    cache = SerializableTokenCache()
    cache.deserialize(json.dumps(state))
    assert len(list(cache.search("AccessToken", now=NOW))) == 2
    assert (
        cache.find_access_token(
            home_account_id=HOME,
            environments=[ENV],
            client_id=CLIENT_ID,
            realm="common",
            scopes=["user.read"],
            now=NOW,
        )
        is not None
    )
    assert len(cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])) == 1


def test_modify_and_reads_that_expire_tokens_flag_the_change() -> None:
    cache = _filled()
    cache.serialize()
    assert list(cache.search("Account"))  # a read that removes nothing
    assert not cache.has_state_changed
    list(cache.search("AccessToken", now=NOW + 10**6))  # removes the expired tokens
    assert cache.has_state_changed
    assert cache._cache["AccessToken"] == {}


def test_deserialized_cache_answers_like_the_original() -> None:
    original = _filled()
    copy_ = SerializableTokenCache()
    copy_.deserialize(original.serialize())
    for cache in (original, copy_):
        assert [a["home_account_id"] for a in cache.find_accounts(environments=[ENV])] == [HOME]
        assert cache.get_app_metadata(environment=ENV, client_id=CLIENT_ID) == {
            "client_id": CLIENT_ID,
            "environment": ENV,
        }


def test_repr_shows_sizes_never_secrets() -> None:
    cache = _filled()
    text = repr(cache)
    assert "AccessToken=2" in text and "at-" not in text and "rt-" not in text
    assert repr(type(cache)()) == f"<{type(cache).__name__}>"  # empty: no stray space
