"""After deserialize() nothing is indexed; each lookup builds only the index it uses.

A CLI or a web request that loads a cache and makes one lookup pays for one index of
one section at most (a user's token: a light scan; an exact-key hit: nothing).
"""

from __future__ import annotations

from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, UTID, app_event, user_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.cache.index import SCANS


def _loaded(users: int = 30) -> SerializableTokenCache:
    source = SerializableTokenCache()
    for i in range(users):
        uid = f"u{i:03d}" if i else HOME.split(".")[0]
        source.add(user_event(uid=uid, username=f"user{i}@x.example"), now=NOW)
    cache = SerializableTokenCache()
    cache.deserialize(source.serialize())
    return cache


def _find_at(cache: SerializableTokenCache) -> object:
    return cache.find_access_token(
        home_account_id=HOME,
        environments=(ENV,),
        client_id=CLIENT_ID,
        realm="common",
        scopes=["user.read"],
        now=NOW,
    )


def _built(cache: SerializableTokenCache) -> set[str]:
    index = cache._index
    return set(index._built) | ({"at_groups"} if index._groups is not None else set())


def test_a_load_builds_nothing_and_each_lookup_only_its_index() -> None:
    cache = _loaded()
    cache._ensure_index()
    assert _built(cache) == set()
    [account] = cache.find_accounts(username="USER7@x.example")
    assert account["username"] == "user7@x.example"
    assert _built(cache) == {"acct_by_user"}
    assert cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    assert _built(cache) == {"acct_by_user", "rt_by_account"}


def test_a_users_first_token_lookups_scan_then_the_groups_are_built() -> None:
    cache = _loaded()
    found = []
    for _ in range(SCANS):
        cache._at_memo.clear()  # each a lookup of its own, not a remembered answer
        found.append(_find_at(cache))
    assert found[0] is not None and found[0]["home_account_id"] == HOME
    assert "at_groups" not in _built(cache)  # scans comparing home_account_id only
    cache._at_memo.clear()
    assert _find_at(cache) is found[0]
    assert "at_groups" in _built(cache)


def test_an_exact_key_hit_needs_no_index() -> None:
    """MSAL's O(1) attempt: the token stored under the query's exact key answers."""
    cache = SerializableTokenCache()
    cache.add(app_event("api://one/.default"), now=NOW)
    cache.add(app_event("api://two/.default"), now=NOW)
    loaded = SerializableTokenCache()
    loaded.deserialize(cache.serialize())
    for _ in range(SCANS + 2):
        loaded._at_memo.clear()
        token = loaded.find_access_token(
            home_account_id=None,
            environments=(ENV,),
            client_id=CLIENT_ID,
            realm="contoso.example",
            scopes=["api://two/.default"],
            now=NOW,
        )
        assert token is not None and token["secret"] == "app-at-api://two/.default"
    assert _built(loaded) == set()


def test_writes_keep_the_built_indexes_and_build_no_other() -> None:
    cache = _loaded()
    for _ in range(SCANS + 1):
        cache._at_memo.clear()
        assert _find_at(cache) is not None
    index = cache._index
    assert _built(cache) == {"at_groups"}
    cache.add(user_event(uid="late", utid=UTID, username="late@x.example"), now=NOW)
    assert cache._index is index and _built(cache) == {"at_groups"}
    late = f"late.{UTID}"
    assert cache.find_accounts(username="late@x.example")[0]["home_account_id"] == late
    found = cache.find_access_token(
        home_account_id=late,
        environments=(ENV,),
        client_id=CLIENT_ID,
        realm="common",
        scopes=["user.read"],
        now=NOW,
    )
    assert found is not None and found["home_account_id"] == late
    assert [a["username"] for a in cache.find_accounts(environments=[ENV])][-2:] == [
        "user29@x.example",
        "late@x.example",
    ]
    for entry in list(cache.search("Account", query={"home_account_id": late})):
        cache.remove_account(entry)
    assert cache.find_accounts(username="late@x.example") == []


def test_the_exact_key_answer_wins_as_in_msal() -> None:
    """Of two tokens covering the scopes, the one stored for exactly those scopes is
    served (MSAL's first answer), even when a broader one lives longer."""
    cache = SerializableTokenCache()
    cache.add(app_event("api://x/.default", expires_in=600), now=NOW)
    broad = app_event("api://x/.default", expires_in=7200)
    broad["scope"] = ["api://x/.default", "api://y/.default"]
    cache.add(broad, now=NOW)
    token = cache.find_access_token(
        home_account_id=None,
        environments=(ENV,),
        client_id=CLIENT_ID,
        realm="contoso.example",
        scopes=["api://x/.default"],
        now=NOW,
    )
    assert token is not None and token["target"] == "api://x/.default"


def _whole_section_maps(cache: SerializableTokenCache) -> set[str]:
    """The per-key maps a first write could make over a whole section: each index's
    reverse map, the AccessToken groups' map, the insertion numbers."""
    index = cache._index
    made = {name for name, built in index._built.items() if built._value_of is not None}
    if index._group_of is not None:
        made.add("at_group_of")
    return made | {f"ordinals:{name}" for name in index.ordinals._built}


def test_a_refresh_after_a_load_rewrites_in_place_without_whole_section_maps() -> None:
    # The first refresh after loading a large cache rewrote its entries under the keys
    # and buckets they had, yet made a map of every key (about 150 ms at 100,000 users).
    cache = _loaded()
    for _ in range(SCANS + 1):
        cache._at_memo.clear()
        assert _find_at(cache) is not None
    assert cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    uid = HOME.split(".")[0]
    cache.add(user_event(uid=uid, secret_suffix="-2", grant_type="refresh_token"), now=NOW)
    assert _whole_section_maps(cache) == set()
    cache._at_memo.clear()
    found = _find_at(cache)
    assert isinstance(found, dict) and found["secret"] == f"at-{uid}-2"
    [rt] = cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    assert rt["secret"].endswith("-2")
    # a write that moves a key to another bucket makes the map, and the move is right
    cache.modify("RefreshToken", rt, {"home_account_id": "moved.tid"})
    assert "rt_by_account" in _whole_section_maps(cache)
    assert cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV]) == []
    [moved] = cache.find_refresh_tokens(home_account_id="moved.tid", environments=[ENV])
    assert moved["secret"] == rt["secret"] and moved["home_account_id"] == "moved.tid"
