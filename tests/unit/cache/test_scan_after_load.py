"""After deserialize(), the first few lookups scan like MSAL; the indexes come later.

A CLI or a web request that loads a cache, makes one or two lookups and exits should
not pay for building indexes it never reuses.
"""

from __future__ import annotations

from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, UTID, user_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.cache._base import SCAN_LOOKUPS


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


def test_the_first_lookups_after_a_load_scan_and_build_nothing() -> None:
    cache = _loaded()
    assert SCAN_LOOKUPS >= 2
    [account] = cache.find_accounts(username="USER7@x.example")
    assert account["username"] == "user7@x.example"
    at = _find_at(cache)
    assert at is not None and at["home_account_id"] == HOME
    assert not cache._index.is_current(cache._cache)  # still no indexes


def test_lookups_past_the_allowance_build_the_indexes_with_the_same_answers() -> None:
    cache = _loaded()
    scanned_at = _find_at(cache)
    scanned = [cache.find_accounts(username="user3@x.example") for _ in range(SCAN_LOOKUPS - 1)]
    assert not cache._index.is_current(cache._cache)
    indexed = cache.find_accounts(username="user3@x.example")
    assert cache._index.is_current(cache._cache)
    assert all(found == indexed for found in scanned) and len(indexed) == 1
    assert _find_at(cache) is scanned_at
    assert [a["username"] for a in cache.find_accounts(environments=[ENV])][:2] == [
        "user0@x.example",
        "user1@x.example",
    ]


def test_a_write_after_a_load_builds_the_indexes_at_once() -> None:
    cache = _loaded()
    cache.add(user_event(uid="late", utid=UTID, username="late@x.example"), now=NOW)
    assert cache._index.is_current(cache._cache)
    assert [a["username"] for a in cache.find_accounts(username="late@x.example")] == [
        "late@x.example"
    ]
