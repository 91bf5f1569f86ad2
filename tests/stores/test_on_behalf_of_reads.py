"""The entry stores' ``read_on_behalf_of``: an account's tokens in on-behalf-of
partitions (``obo:<assertion hash>``), which a sign-out removes."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from tests.stores._acl import limited_client
from tests.stores.conftest import _free_port
from tests.unit.cache._helpers import CLIENT_ID, obo_event, user_event
from tests.unit.cache._helpers import ENV as USER_ENV

from tokensmith.cache.changes import EntryDeleted, EntryPut
from tokensmith.stores import PersistentTokenCache, RedisStore, SqliteStore
from tokensmith.stores.base import NO_ANSWER, Row
from tokensmith.stores.sqlite import _SELECT_OBO

ENV = "login.example"
LATER = int(time.time()) + 3600


def _token(credential_type: str, home: str, assertion: str | None = None) -> EntryPut:
    entry: dict[str, Any] = {
        "credential_type": credential_type,
        "home_account_id": home,
        "environment": ENV,
        "client_id": "api",
        "secret": f"{credential_type}-{home}-{assertion}",
        "expires_on": str(LATER),
    }
    if assertion is not None:
        entry["user_assertion_hash"] = assertion
    return EntryPut(credential_type, f"{home}-{assertion}-{credential_type}", entry)


WRITES = [
    _token("AccessToken", "u1.tid", "h1"),
    _token("RefreshToken", "u1.tid", "h1"),
    _token("AccessToken", "u1.tid", "h2"),
    _token("AccessToken", "u2.tid", "h1"),  # another account's, in the same partition
    _token("RefreshToken", "u1.tid"),  # the account's own partition: not on behalf of
]
U1_OBO = [
    "AccessToken|u1.tid-h1-AccessToken",
    "AccessToken|u1.tid-h2-AccessToken",
    "RefreshToken|u1.tid-h1-RefreshToken",
]


def _keys(rows: list[Row]) -> list[str]:
    return sorted(f"{ct}|{key}" for ct, key, _ in rows)


def test_sqlite_reads_the_accounts_on_behalf_of_rows_by_the_owner_index(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "cache.db")
    store.apply(WRITES)
    assert _keys(store.read_on_behalf_of("u1.tid")) == U1_OBO
    assert _keys(store.read_on_behalf_of("u2.tid")) == ["AccessToken|u2.tid-h1-AccessToken"]
    assert store.read_on_behalf_of("u3.tid") == []
    store.apply([EntryDeleted(c.credential_type, c.key, c.entry) for c in WRITES[:2]])
    assert _keys(store.read_on_behalf_of("u1.tid")) == ["AccessToken|u1.tid-h2-AccessToken"]
    plan = store._db.execute("EXPLAIN QUERY PLAN " + _SELECT_OBO, ("u1.tid", "obo:")).fetchall()
    assert "USING INDEX entries_by_owner" in plan[0][3]  # not a scan of every row
    store.close()


def _index(prefix: str, home: str) -> str:
    return f"{prefix}obo-of:{hashlib.sha256(home.encode()).hexdigest()}"


def test_redis_reads_the_hashes_its_per_account_set_lists(redis_client: Any) -> None:
    store = RedisStore(redis_client, idle_ttl=3600)
    store.apply(WRITES)
    assert _keys(store.read_on_behalf_of("u1.tid")) == U1_OBO
    assert _keys(store.read_on_behalf_of("u2.tid")) == ["AccessToken|u2.tid-h1-AccessToken"]
    assert store.read_on_behalf_of("u3.tid") == []
    index = _index("tokensmith:", "u1.tid")
    assert sorted(redis_client.smembers(index)) == [b"obo:h1", b"obo:h2"]
    assert 3500 < redis_client.ttl(index) <= 3600  # the hashes' idle TTL
    assert not any(b"u1.tid" in k for k in redis_client.keys("tokensmith:obo-of:*"))
    # a member whose hash is gone, or that names no on-behalf-of hash, is harmless
    redis_client.delete("tokensmith:p:obo:h2")
    redis_client.sadd(index, "user:u2.tid", b"\xff")
    assert _keys(store.read_on_behalf_of("u1.tid")) == U1_OBO[::2]
    # another prefix's store finds nothing of this one's
    assert RedisStore(redis_client, prefix="other:").read_on_behalf_of("u1.tid") == []


def test_an_encrypted_redis_store_reads_what_its_key_sealed(redis_client: Any) -> None:
    key = b"k" * 32
    RedisStore(redis_client, encryption_key=key).apply(WRITES)
    rows = RedisStore(redis_client, encryption_key=key).read_on_behalf_of("u1.tid")
    assert _keys(rows) == U1_OBO
    assert {entry["secret"] for ct, _, entry in rows if ct == "RefreshToken"} == {
        "RefreshToken-u1.tid-h1"
    }
    assert b"RefreshToken-u1.tid-h1" not in redis_client.hget(
        "tokensmith:p:obo:h1", "RefreshToken|u1.tid-h1-RefreshToken"
    )
    assert RedisStore(redis_client, encryption_key=b"x" * 32).read_on_behalf_of("u1.tid") == []


def test_redis_down_or_refusing_answers_nothing_and_never_raises(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    down = RedisStore(url=f"redis://127.0.0.1:{_free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert down.read_on_behalf_of("u1.tid") is NO_ANSWER
    assert "Redis unreachable" in caplog.text
    redis_client.set(_index("tokensmith:", "u1.tid"), "not a set")  # WRONGTYPE
    assert RedisStore(redis_client).read_on_behalf_of("u1.tid") is NO_ANSWER
    store = RedisStore(redis_client)
    store.apply(WRITES[2:3])  # the set refused: the token itself lands
    assert redis_client.hlen("tokensmith:p:obo:h2") == 1


class _Recording:
    """A Redis client that records the names of the commands it is asked for."""

    def __init__(self, client: Any) -> None:
        self.client, self.names = client, list[str]()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.names.append(name)
            return attr(*args, **kwargs)

        return recorded


def test_a_sign_out_without_on_behalf_of_tokens_costs_redis_one_command(
    redis_client: Any,
) -> None:
    now = time.time()
    PersistentTokenCache(RedisStore(redis_client)).add(user_event(uid="u1", utid="tid"), now=now)
    recording = _Recording(redis_client)
    cache = PersistentTokenCache(RedisStore(recording), clock=time.time)
    cache.forget_account(home_account_id="u1.tid", environments=[USER_ENV], client_id=CLIENT_ID)
    assert recording.names.count("smembers") == 1
    assert recording.names.count("pipeline") == 1  # the removal's write, no read
    assert redis_client.exists("tokensmith:p:user:u1.tid") == 0


def test_a_redis_user_without_set_commands_still_writes_and_signs_out(
    redis_client: Any, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The index's SADD makes Redis refuse the whole MULTI (NOPERM) for a user whose ACL
    # has no @set: the store gives the index up (once) and writes without it.
    with limited_client(redis_client, redis_url, "nosets", "@set") as limited:
        store = RedisStore(limited)
        with caplog.at_level(logging.WARNING, logger="tokensmith"):
            assert store.apply(WRITES[:2]) is None
            assert store.apply(WRITES[2:]) is None
            assert store.replace_all(RedisStore(redis_client).read_all()) is None
        assert sum("refuses set commands" in r.getMessage() for r in caplog.records) == 1
        assert redis_client.hlen("tokensmith:p:obo:h1") == 3
        assert RedisStore(limited).replace_all(store.read_all()) is None  # a fresh store
        assert store.read_on_behalf_of("u1.tid") is NO_ANSWER  # SMEMBERS refused: no raise


def test_a_redis_user_without_scripts_or_sets_still_writes_on_behalf_of_tokens(
    redis_client: Any, redis_url: str
) -> None:
    # two indexes refused in one write: each is given up in turn, then the write lands
    with limited_client(redis_client, redis_url, "bare", "@scripting", "@set") as limited:
        cache = PersistentTokenCache(RedisStore(limited), clock=time.time)
        cache.add(obo_event("h9"), now=time.time())  # an Account (username) and obo tokens
        assert redis_client.hlen("tokensmith:p:obo:h9") >= 2
        assert redis_client.hlen("tokensmith:p:accounts") == 1
