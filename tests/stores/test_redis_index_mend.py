"""A damaged username index no longer hides an account: when the ``#username|<digest>``
field of RedisStore's accounts hash exists but lists no account present, a read by
username reads the whole accounts hash instead, and lists that username's accounts
under it again (``INDEX_ADD``: what another process lists meanwhile stays), so the next
read is the one script again and a later write of another account keeps both."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from tests.unit.cache._helpers import ENV, user_event

from tokensmith.stores import PersistentTokenCache, RedisStore
from tokensmith.stores._redis_index import username_field

ACCOUNTS = "tokensmith:p:accounts"
ADA = "ada@contoso.example"


class _Counting:
    """A Redis client that counts whole reads (``HGETALL``) of the accounts hash."""

    def __init__(self, client: Any) -> None:
        self.client, self.whole_reads = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def hgetall(self, name: Any) -> Any:
        if name == ACCOUNTS:
            self.whole_reads += 1
        return self.client.hgetall(name)


def _sign_in(cache: PersistentTokenCache, uid: str, username: str = ADA) -> None:
    cache.add(user_event(uid=uid, utid="tid", username=username, scope=["User.Read"]))


def _listed(client: Any, username: str = ADA) -> Any:
    raw = client.hget(ACCOUNTS, username_field(username))
    return None if raw is None else json.loads(raw)


def _homes(cache: PersistentTokenCache, username: str = ADA) -> list[str]:
    return sorted(a["home_account_id"] for a in cache.find_accounts(username=username))


@pytest.mark.parametrize("key", [None, b"k" * 32], ids=["plain", "encrypted"])
@pytest.mark.parametrize("damage", [b"not json", b'{"a": 1}', b"[null]", b'["Account|gone"]'])
def test_a_username_whose_list_names_no_account_present_is_found_and_listed_again(
    redis_client: Any, key: bytes | None, damage: bytes
) -> None:
    writer = PersistentTokenCache(RedisStore(redis_client, encryption_key=key), clock=time.time)
    _sign_in(writer, "u1")
    _sign_in(writer, "u2", "bob@contoso.example")
    redis_client.hset(ACCOUNTS, username_field(ADA), damage)  # (damaged, or a stale list)
    counting = _Counting(redis_client)
    fresh = PersistentTokenCache(RedisStore(counting, encryption_key=key), clock=time.time)
    assert _homes(fresh, "ADA@contoso.example") == ["u1.tid"]
    assert counting.whole_reads == 1
    assert f"Account|u1.tid-{ENV}-common" in _listed(redis_client)
    assert not [f for f in _listed(redis_client) if "u2.tid" in f]  # (bob's is not ada's)
    again = _Counting(redis_client)
    assert _homes(PersistentTokenCache(RedisStore(again, encryption_key=key))) == ["u1.tid"]
    assert again.whole_reads == 0  # mended: the script answers again
    _sign_in(writer, "u3")  # another account of that username: both listed
    later = _Counting(redis_client)
    assert _homes(PersistentTokenCache(RedisStore(later, encryption_key=key))) == [
        "u1.tid",
        "u3.tid",
    ]
    assert later.whole_reads == 0


def test_a_username_with_no_list_is_no_whole_read(redis_client: Any) -> None:
    _sign_in(PersistentTokenCache(RedisStore(redis_client), clock=time.time), "u1")
    counting = _Counting(redis_client)
    fresh = PersistentTokenCache(RedisStore(counting), clock=time.time)
    assert _homes(fresh, "nobody@contoso.example") == []
    assert counting.whole_reads == 0
    assert _listed(redis_client, "nobody@contoso.example") is None


def test_a_list_naming_a_present_account_is_read_as_it_is(redis_client: Any) -> None:
    # (an account it does not name is not looked for: the list is kept by every write)
    writer = PersistentTokenCache(RedisStore(redis_client), clock=time.time)
    _sign_in(writer, "u1")
    _sign_in(writer, "u2")
    [first, second] = _listed(redis_client)
    redis_client.hset(ACCOUNTS, username_field(ADA), json.dumps([first]))
    counting = _Counting(redis_client)
    assert len(_homes(PersistentTokenCache(RedisStore(counting), clock=time.time))) == 1
    assert counting.whole_reads == 0
    assert second not in _listed(redis_client)
