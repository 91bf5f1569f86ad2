"""After deserialize() nothing is indexed; each lookup builds only the index it uses.

A CLI or a web request that loads a cache and makes one lookup pays for one index of
one section, not for all of them.
"""

from __future__ import annotations

from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, UTID, user_event

from tokensmith.cache import SerializableTokenCache


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
    at = _find_at(cache)
    assert at is not None and at["home_account_id"] == HOME
    assert _built(cache) == {"acct_by_user", "at_groups"}
    assert cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    assert _built(cache) == {"acct_by_user", "at_groups", "rt_by_account"}


def test_writes_keep_the_built_indexes_and_build_no_other() -> None:
    cache = _loaded()
    assert _find_at(cache) is not None
    index = cache._index
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
