"""RedisStore on a real redis-server (loopback): partitions, TTLs, L1/L2, encryption,
an unreachable Redis, and single flight across processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.stores._acl import limited_client
from tests.stores._apps import SCOPE, cca
from tests.stores.conftest import _free_port
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, app_event, user_event

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import EntryPut
from tokensmith.errors import ConfigurationError
from tokensmith.stores import PersistentTokenCache, RedisStore

HOME = "u1.tid"
ROOT = Path(__file__).resolve().parents[2]


def _cache(client: Any, **kwargs: Any) -> PersistentTokenCache:
    return PersistentTokenCache(RedisStore(client, **kwargs), clock=time.time)


def _user_at(cache: PersistentTokenCache, scopes: list[str], now: float, home: str = HOME) -> Any:
    return cache.find_access_token(
        home_account_id=home,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=scopes,
        now=now,
    )


def test_partitions_per_user_and_per_client_and_tenant_with_ttls(redis_client: Any) -> None:
    now = time.time()
    cache = _cache(redis_client)
    cache.add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=now)
    cache.add(app_event(expires_in=600), now=now)
    keys = sorted(k.decode() for k in redis_client.keys("*"))
    assert keys == [
        "tokensmith:p:accounts",
        f"tokensmith:p:app:{CLIENT_ID}:contoso.example",
        "tokensmith:p:meta",
        f"tokensmith:p:user:{HOME}",
    ]
    app_ttl = redis_client.ttl(f"tokensmith:p:app:{CLIENT_ID}:contoso.example")
    assert 590 <= app_ttl <= 600  # the app's hash lives as long as its token
    assert redis_client.ttl(f"tokensmith:p:user:{HOME}") > 80 * 24 * 3600
    user = redis_client.hgetall(f"tokensmith:p:user:{HOME}")
    assert sorted(f.decode().split("|")[0] for f in user) == [
        "AccessToken",
        "IdToken",
        "RefreshToken",
    ]


def test_a_second_process_answers_from_redis_then_from_memory(redis_client: Any) -> None:
    now = time.time()
    _cache(redis_client).add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=now)
    other = _cache(redis_client)
    found = _user_at(other, ["User.Read"], now)  # L2: one HGETALL
    assert found is not None
    redis_client.flushdb()
    assert _user_at(other, ["User.Read"], now) is found  # L1: memory, Redis not asked


class _Counting:
    """A Redis client that counts the commands it is asked for (``sent``) and, among
    them, the partition reads (``reads``, ``HGETALL``)."""

    def __init__(self, client: Any) -> None:
        self.client, self.reads, self.sent = client, 0, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            self.reads += name == "hgetall"
            return attr(*args, **kwargs)

        return counted


def test_a_miss_reads_its_partition_once_and_a_hit_never(redis_client: Any) -> None:
    now = time.time()
    _cache(redis_client).add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=now)
    counting = _Counting(redis_client)
    here = PersistentTokenCache(RedisStore(counting), clock=time.time)
    assert _user_at(here, ["Mail.Read"], now) is None  # cold: one HGETALL, not two
    assert counting.reads == 1
    assert _user_at(here, ["User.Read"], now) is not None  # read by the miss: memory
    assert counting.reads == 1
    assert _user_at(here, ["Mail.Read"], now) is None  # Redis cannot say it is unchanged
    assert counting.reads == 2


def test_another_process_sign_out_and_write_follow_the_l1_policy(redis_client: Any) -> None:
    now = time.time()
    for uid in ("u1", "u2"):
        _cache(redis_client).add(user_event(uid=uid, utid="tid", scope=["User.Read"]), now=now)
    here, elsewhere = _cache(redis_client), _cache(redis_client)
    held = _user_at(here, ["User.Read"], now)
    assert held is not None and here.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    elsewhere.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _user_at(here, ["User.Read"], now) is held  # a hit: memory until it expires
    # a refresh reads the partition again: the signed-out account is not refreshed...
    assert here.find_refresh_tokens(home_account_id=HOME, environments=[ENV]) == []
    assert _user_at(here, ["User.Read"], now) is None  # ...and its tokens left memory
    elsewhere.add(user_event(uid="u2", utid="tid", scope=["Mail.Read"]), now=now)
    u2 = _user_at(here, ["Mail.Read"], now, home="u2.tid")
    assert u2 is not None and u2["target"] == "Mail.Read"  # a miss reads what was written


def test_encryption_at_rest(redis_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    key = os.urandom(32)
    now = time.time()
    _cache(redis_client, encryption_key=key).add(
        user_event(uid="u1", utid="tid", scope=["User.Read"], access_token="the-secret-at"),
        now=now,
    )
    raw = b"".join(v for k in redis_client.keys("*") for v in redis_client.hvals(k))
    assert b"the-secret-at" not in raw and b"User.Read" not in raw
    assert _user_at(_cache(redis_client, encryption_key=key), ["User.Read"], now)["secret"] == (
        "the-secret-at"
    )
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert (
            _user_at(_cache(redis_client, encryption_key=os.urandom(32)), ["User.Read"], now)
            is None
        )
    assert "could not be read" in caplog.text
    assert "the-secret-at" not in caplog.text


def test_redis_unreachable_means_memory_and_network(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    entra = FakeEntra(clock)
    store = RedisStore(url=f"redis://127.0.0.1:{_free_port()}/0")
    app = cca(entra, clock, PersistentTokenCache(store, clock=clock))
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        first = app.acquire_token_for_client(SCOPE)
        second = app.acquire_token_for_client(SCOPE)
    assert first["token_source"] == "identity_provider"
    assert second["token_source"] == "cache"  # L1 kept it
    assert "Redis unreachable" in caplog.text
    assert entra.tokens_posted() == 1


def test_an_unreachable_redis_is_left_alone_for_a_growing_while(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import redis

    timer = FakeClock(0.0)
    # (from_url: no retries; a client that retries pays its retries once per back-off)
    client = _Counting(redis.Redis.from_url(f"redis://127.0.0.1:{_free_port()}/0"))
    store = RedisStore(client, timer=timer, backoff=1.0, max_backoff=3.0)
    flight = store.single_flight()
    entry = {"home_account_id": HOME, "environment": ENV, "secret": "rt-secret"}
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert store.read("accounts") == []  # tried: refused
        assert client.sent == 1
        for tried, pause in enumerate((1.0, 2.0, 3.0, 3.0), 1):  # doubled, at most 3 s
            timer.advance(pause - 0.01)
            assert store.read("accounts") == []
            store.apply([EntryPut("RefreshToken", "k", entry)])
            assert flight.run("key", lambda: "fetched") == "fetched"  # no lock, no wait
            assert client.sent == tried  # left alone
            timer.advance(0.02)
            assert store.read("accounts") == []  # tried again
            assert client.sent == tried + 1
    warnings = [r.getMessage() for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "next try in 1 s" in warnings[0]  # one per 30 s
    assert "rt-secret" not in caplog.text
    with pytest.raises(ConfigurationError):
        RedisStore(client, backoff=5.0, max_backoff=1.0)


def test_a_hung_redis_costs_one_timeout_then_serves_again(
    redis_client: Any, redis_url: str
) -> None:
    import redis

    timer = FakeClock(0.0)
    client = _Counting(redis.Redis.from_url(redis_url, socket_timeout=0.2))
    store = RedisStore(client, timer=timer)
    PersistentTokenCache(store, clock=time.time).add(user_event(uid="u1", utid="tid"))
    stored = store.read_prefix("")
    assert stored
    redis_client.client_pause(600)  # the server answers no one for 0.6 s
    assert store.read_prefix("") == []  # one socket timeout
    sent = client.sent
    assert store.read_prefix("") == [] and client.sent == sent  # not tried: no timeout
    redis_client.ping()  # answered once the pause is over
    timer.advance(1.0)
    assert store.read_prefix("") == stored  # served again, and the back-off is over:
    redis_client.client_pause(400)
    assert store.read_prefix("") == []
    timer.advance(1.0)  # the next failure pauses 1 s again, not 2
    redis_client.ping()
    assert store.read_prefix("") == stored


def test_eight_processes_asking_at_once_send_one_token_request(
    redis_client: Any, redis_url: str
) -> None:
    start_at = time.time() + 3.0
    argv = [sys.executable, "-m", "tests.stores._worker", "flight", redis_url, str(start_at)]
    workers = [
        subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [w.communicate(timeout=60) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err[-400:] for _, err in outputs]
    sources = sorted(out.strip() for out, _ in outputs)
    graph = redis_client.get("requests:https://graph.microsoft.com/.default")
    assert int(graph) == 1  # one request for the eight processes
    assert sources.count("identity_provider") == 1 and sources.count("cache") == 7


def test_a_read_redis_did_not_answer_keeps_what_memory_holds(
    redis_client: Any, redis_url: str
) -> None:
    import redis

    timer = FakeClock(0.0)
    client = redis.Redis.from_url(redis_url, socket_timeout=0.2)
    cache = PersistentTokenCache(RedisStore(client, timer=timer), clock=time.time)
    cache.add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=time.time())
    assert _user_at(cache, ["User.Read"], time.time()) is not None
    redis_client.client_pause(500)
    # a miss reads the user's partition again: Redis does not answer (a timeout)...
    assert _user_at(cache, ["Mail.Read"], time.time()) is None
    redis_client.ping()  # the pause is over, but the store is backing off
    # ...and memory still holds the user's tokens: the hit and the refresh token
    assert _user_at(cache, ["User.Read"], time.time()) is not None
    assert cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV]) != []


def test_commands_failing_together_are_one_failure(caplog: pytest.LogCaptureFixture) -> None:
    import threading

    import redis

    timer = FakeClock(0.0)
    together = threading.Barrier(8)

    class Hung:
        sent = 0

        def hgetall(self, name: str) -> Any:
            Hung.sent += 1
            if Hung.sent <= 8:
                together.wait(5)  # eight reads in flight at once, then all fail
            raise redis.TimeoutError("Timeout reading from socket")

    store = RedisStore(Hung(), timer=timer)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        readers = [threading.Thread(target=store.read, args=("accounts",)) for _ in range(8)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
    assert Hung.sent == 8
    timer.advance(0.99)
    assert store.read("accounts") == [] and Hung.sent == 8  # still paused
    timer.advance(0.02)  # one failure: a 1 s pause (eight in a row would make it 30 s)
    assert store.read("accounts") == [] and Hung.sent == 9  # tried again
    assert sum("Redis unreachable" in r.getMessage() for r in caplog.records) == 1


def test_a_foreign_field_name_is_skipped(redis_client: Any) -> None:
    cache = _cache(redis_client)
    cache.add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=time.time())
    redis_client.hset(f"tokensmith:p:user:{HOME}", b"\xff\xfe|not utf-8", b"{}")
    store = RedisStore(redis_client)
    rows = store.read_prefix("")
    assert rows and all(isinstance(key, str) for _, key, _ in rows)
    assert sorted(ct for ct, _, _ in store.read(f"user:{HOME}")) == [
        "AccessToken",
        "IdToken",
        "RefreshToken",
    ]


def _rt_secrets(cache: PersistentTokenCache) -> list[str]:
    return sorted(e["secret"] for e in json.loads(cache.serialize())["RefreshToken"].values())


@pytest.mark.parametrize(("prefix", "neighbour"), [("svc[1]:", "svc1:"), ("svc*?:", "svcAB:")])
def test_a_prefix_with_glob_characters_is_only_its_own_namespace(
    redis_client: Any, prefix: str, neighbour: str
) -> None:
    now = time.time()
    _cache(redis_client, prefix=prefix).add(user_event(uid="alice", utid="tid"), now=now)
    _cache(redis_client, prefix=neighbour).add(user_event(uid="bob", utid="tid"), now=now)
    neighbours = sorted(redis_client.keys(neighbour + "*"))
    exported = _cache(redis_client, prefix=prefix).serialize()
    assert "rt-alice" in exported and "rt-bob" not in exported
    _cache(redis_client, prefix=prefix).deserialize(exported)  # an import replaces its own
    assert sorted(redis_client.keys(neighbour + "*")) == neighbours
    assert _rt_secrets(_cache(redis_client, prefix=prefix)) == ["rt-alice"]
    assert _rt_secrets(_cache(redis_client, prefix=neighbour)) == ["rt-bob"]


def test_a_key_redis_refuses_affects_only_that_key(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    redis_client.set("tokensmith:p:accounts", b"not a hash")  # one damaged key
    store = RedisStore(redis_client, timer=FakeClock(0.0))  # a back-off would never end
    cache = PersistentTokenCache(store, clock=time.time)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        cache.add(user_event(uid="u1", utid="tid"), now=now)  # the Account's HSET fails
        assert [a["home_account_id"] for a in cache.find_accounts()] == [HOME]  # memory
        cache.add(app_event(tenant="t2"), now=now)  # another tenant's write: not dropped
    assert redis_client.hlen(f"tokensmith:p:user:{HOME}") == 3  # the rest of the batch
    assert redis_client.exists(f"tokensmith:p:app:{CLIENT_ID}:t2")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("tokensmith")]
    refused = [m for m in messages if "refused" in m]
    assert len(refused) == 1 and "tokensmith:p:accounts (ResponseError WRONGTYPE)" in refused[0]
    assert not any("unreachable" in m for m in messages)
    assert "rt-u1" not in caplog.text and "secret" not in caplog.text
    fresh = _cache(redis_client)  # an export skips the damaged key, not the rest
    assert _rt_secrets(fresh) == ["rt-u1"]
    assert store.read("accounts") == []


def test_a_full_redis_aborts_the_whole_write_and_the_log_says_so(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """OOM refuses each HSET while the MULTI is queued: Redis aborts the transaction
    (EXECABORT), so no part of the batch lands; reads still work, so no back-off."""
    now = time.time()
    store = RedisStore(redis_client, timer=FakeClock(0.0))  # a back-off would never end
    cache = PersistentTokenCache(store, clock=time.time)
    cache.add(user_event(uid="u1", utid="tid"), now=now)
    before = sorted(redis_client.keys("*"))
    policy = redis_client.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        redis_client.config_set("maxmemory-policy", "noeviction")
        redis_client.config_set("maxmemory", 1)  # every write command is refused
        with caplog.at_level(logging.WARNING, logger="tokensmith"):
            cache.add(user_event(uid="u2", utid="tid"), now=now)
            assert store.read(f"user:{HOME}") != []  # answered: not backing off
    finally:
        redis_client.config_set("maxmemory", 0)
        redis_client.config_set("maxmemory-policy", policy)
    assert sorted(redis_client.keys("*")) == before  # none of the batch landed
    (warning,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "(OutOfMemoryError OOM)" in warning and "aborted the whole transaction" in warning
    assert "none of its" in warning and "unaffected" not in warning
    assert "rt-u2" not in caplog.text and "unreachable" not in caplog.text


class _Aborting:
    """A client whose transactions Redis aborts: ``execute`` raises what redis-py raises
    when Redis refused a command while the MULTI was queued (the first refusal,
    annotated with that command, its values included)."""

    def __init__(self, error: Exception) -> None:
        self.error, self.reads = error, 0

    def pipeline(self, transaction: bool = True) -> Any:
        return self

    def __getattr__(self, command: str) -> Any:  # queued: hset, expire, expireat...
        return lambda *args, **kwargs: None

    def execute(self, raise_on_error: bool = True) -> Any:
        raise self.error

    def hgetall(self, name: str) -> dict[bytes, bytes]:
        self.reads += 1
        return {}


@pytest.mark.parametrize(
    ("error", "reply", "described"),
    [
        ("ReadOnlyError", "You can't write against a read only replica.", "READONLY"),
        ("ResponseError", "MISCONF Redis is configured to save RDB snapshots", "MISCONF"),
    ],
)
def test_a_refused_transaction_is_logged_with_redis_error_code_only(
    caplog: pytest.LogCaptureFixture, error: str, reply: str, described: str
) -> None:
    import redis

    secret = "rt-secret) of pipeline caused error: LEAKED"  # a token mimicking the mark
    command = f'HSET tokensmith:p:user:{HOME} RefreshToken|k {{"secret":"{secret}"}}'
    raised = getattr(redis, error)(f"Command # 1 ({command}) of pipeline caused error: {reply}")
    client = _Aborting(raised)
    store = RedisStore(client, timer=FakeClock(0.0))
    entry = {"home_account_id": HOME, "environment": ENV, "secret": secret}
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        store.apply([EntryPut("RefreshToken", "k", entry)])
        store.apply([EntryPut("RefreshToken", "k", entry)])  # within 30 s: not logged
        assert store.read("accounts") == [] and client.reads == 1  # no back-off
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"({error} {described})" in warning
    assert "aborted the whole transaction" in warning and "write dropped" in warning
    assert "LEAKED" not in caplog.text and "rt-secret" not in caplog.text


def test_no_hash_outlives_its_idle_ttl_and_every_expiry_is_one_redis_accepts(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    far = {"expires_on": "99999999999999999999", "client_id": "c", "realm": "r", "secret": "S"}
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        _cache(redis_client).deserialize(json.dumps({"AccessToken": {"k": far}}))
    assert 89 * 24 * 3600 < redis_client.ttl("tokensmith:p:app:c:r") <= 90 * 24 * 3600
    assert json.loads(_cache(redis_client).serialize())["AccessToken"]["k"]["secret"] == "S"
    assert "dropped" not in caplog.text and "refused" not in caplog.text
    _cache(redis_client, idle_ttl=600).add(app_event(expires_in=3600), now=time.time())
    assert 0 < redis_client.ttl(f"tokensmith:p:app:{CLIENT_ID}:contoso.example") <= 600
    for bad in (0, 1.5, True, 10**20):
        with pytest.raises(ConfigurationError):
            RedisStore(redis_client, idle_ttl=bad)


@pytest.mark.parametrize("key", [None, b"k" * 32])
def test_sections_kept_verbatim_are_exported_by_a_fresh_process(
    redis_client: Any, key: bytes | None
) -> None:
    source = _cache(redis_client, encryption_key=key)
    source.add(user_event(uid="u1", utid="tid"), now=time.time())
    state = json.loads(source.serialize())
    state.update({"Extra": [1, {"a": "the-extra"}], "Note": "the-note"})
    source.deserialize(json.dumps(state))
    exported = json.loads(_cache(redis_client, encryption_key=key).serialize())
    assert exported["Extra"] == [1, {"a": "the-extra"}] and exported["Note"] == "the-note"
    assert _rt_secrets(_cache(redis_client, encryption_key=key)) == ["rt-u1"]
    assert redis_client.ttl("tokensmith:verbatim") > 80 * 24 * 3600
    raw = b"".join(redis_client.hvals("tokensmith:verbatim"))
    assert (b"the-note" in raw) is (key is None)  # encrypted like the entries
    del state["Extra"], state["Note"]
    source.deserialize(json.dumps(state))  # an import replaces them too
    exported = json.loads(_cache(redis_client, encryption_key=key).serialize())
    assert "Extra" not in exported and "Note" not in exported
    assert not redis_client.exists("tokensmith:verbatim")


def _waits_on_the_lock(cache: PersistentTokenCache) -> Any:
    """An event set when ``cache``'s single flight first finds the Redis lock taken."""
    import threading

    flight: Any = cache.single_flight
    waiting = threading.Event()
    try_lock = flight._try_lock

    def noting(name: str, token: str) -> bool:
        taken: bool = try_lock(name, token)
        if not taken:
            waiting.set()
        return taken

    flight._try_lock = noting
    return waiting


@pytest.mark.parametrize("follower_kind", ["sync", "async"])
def test_a_follower_takes_the_refresh_another_process_made_of_a_token_due_for_it(
    redis_client: Any, follower_kind: str
) -> None:
    # Both "processes" hold the app token in memory, due for a proactive refresh
    # (refresh_in): the one that waited for the lock must take the other's new token
    # from Redis, not fetch again because its memory still holds a usable old one.
    import asyncio
    import threading

    from tests.stores._apps import async_cca

    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    entra.expires_in, entra.extra = 7200, {"refresh_in": 3600}
    leader = cca(entra, clock, PersistentTokenCache(RedisStore(redis_client), clock=clock))
    follower_cache = PersistentTokenCache(RedisStore(redis_client), clock=clock)
    make = cca if follower_kind == "sync" else async_cca
    follower = make(entra, clock, follower_cache)

    def follower_call() -> Any:
        call = follower.acquire_token_for_client(SCOPE)
        return asyncio.run(call) if follower_kind == "async" else call

    assert leader.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    assert follower_call()["token_source"] == "cache"  # both hold it in memory now
    clock.advance(3601)  # due for refresh, still valid
    waiting = _waits_on_the_lock(follower_cache)
    fetching = threading.Event()
    issue = entra.issue

    def held_until_the_follower_waits(form: dict[str, str]) -> Any:
        fetching.set()
        assert waiting.wait(30), "the follower never waited for the lock"
        return issue(form)

    entra.token_handler = held_until_the_follower_waits
    results: dict[str, Any] = {}
    lead = threading.Thread(
        target=lambda: results.update(lead=leader.acquire_token_for_client(SCOPE))
    )
    lead.start()
    assert fetching.wait(30)
    results["follow"] = follower_call()
    lead.join(30)
    assert results["lead"]["access_token"] == "at-2"
    assert results["follow"]["access_token"] == "at-2"  # the leader's, from Redis
    assert entra.tokens_posted() == 2  # the first token and one refresh


def test_a_write_refused_for_one_key_reports_only_that_change(redis_client: Any) -> None:
    # One hash of the batch is not a hash (WRONGTYPE): the rest of the write lands, and
    # the cache takes the refresh token that landed as stored (only a token the store
    # held counts as removed elsewhere when a later read no longer finds it).
    from tokensmith.stores import partition as part
    from tokensmith.stores.base import NotLanded

    store = RedisStore(redis_client)
    redis_client.set(store._hash(part.META), "not a hash")
    now = time.time()
    changes = [
        EntryPut("RefreshToken", "rt-key", {"home_account_id": HOME, "secret": "rt"}),
        EntryPut("AppMetadata", "meta-key", {"client_id": CLIENT_ID, "environment": ENV}),
    ]
    result = store.apply(changes)
    assert isinstance(result, NotLanded) and result.changes == (changes[1],)
    cache = PersistentTokenCache(RedisStore(redis_client), clock=time.time)
    cache.add(user_event(uid="u2", utid="tid", scope=["User.Read"]), now=now)
    stored = [key for key in cache._stored_rts if key.startswith("u2.tid")]
    assert len(stored) == 1  # its AppMetadata was refused, its refresh token landed
    redis_client.set(store._hash(part.user("u3.tid")), "not a hash either")
    cache.add(user_event(uid="u3", utid="tid", scope=["User.Read"]), now=now)
    assert [key for key in cache._stored_rts if key.startswith("u3.tid")] == []  # refused


def test_a_refresh_keeps_the_shared_accounts_hash_alive(redis_client: Any) -> None:
    # Only a sign-in writes Account entries; a refresh writes the user's tokens. The
    # accounts hash (every user's Account) lived idle_ttl after the last sign-in, so
    # every account expired at once while the refresh tokens were still in use.
    cache = _cache(redis_client, idle_ttl=600)
    cache.add(user_event(uid="u1", utid="tid"), now=time.time())
    redis_client.expire("tokensmith:p:accounts", 50)  # as if the sign-in were long ago
    [rt] = cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    cache.update_rt(rt, "rt-rotated")  # a refresh: the user's hash only
    assert 550 < redis_client.ttl("tokensmith:p:accounts") <= 600
    fresh = _cache(redis_client)
    assert [a["home_account_id"] for a in fresh.find_accounts()] == [HOME]


@pytest.mark.parametrize("encryption_key", [None, b"k" * 32])
def test_text_utf8_cannot_encode_never_raises_and_affects_only_its_entries(
    redis_client: Any, caplog: pytest.LogCaptureFixture, encryption_key: bytes | None
) -> None:
    # A lone surrogate (JSON's "\ud800" escape: an imported cache, an account id in a
    # token response) in a key or a partition: redis-py's UnicodeEncodeError escaped
    # from reads and writes, which must never raise.
    from tokensmith.stores.base import DROPPED, NotLanded

    store = RedisStore(redis_client, encryption_key=encryption_key)
    good = EntryPut("RefreshToken", "rt-key", {"home_account_id": HOME, "secret": "rt-good"})
    bad_key = EntryPut("RefreshToken", "rt-\ud800", {"home_account_id": HOME, "secret": "rt-x"})
    bad_home = EntryPut("RefreshToken", "rt2", {"home_account_id": "u\ud800", "secret": "rt-y"})
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        result = store.apply([good, bad_key, bad_home])
        assert isinstance(result, NotLanded) and result.changes == (bad_key, bad_home)
        assert [key for _, key, _ in store.read(f"user:{HOME}")] == ["rt-key"]
        assert store.read("user:u\ud800") == [] and store.read_prefix("user:u\ud800") == []
        assert store.apply([bad_key]) is DROPPED
        state = {
            "RefreshToken": {"rt-\ud800": dict(bad_key.entry), "rt-key": dict(good.entry)},
            "X\ud800": {"kept": "no"},
            "XKept": {"kept": "yes"},
        }
        assert store.replace_all(state) is DROPPED  # not all of it landed
    assert store.read_all() == {"RefreshToken": {"rt-key": good.entry}, "XKept": {"kept": "yes"}}
    assert "not valid Unicode" in caplog.text and "rt-x" not in caplog.text
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisStore(redis_client, prefix="svc\ud800:")


def test_a_client_that_decodes_responses_is_a_configuration_error(redis_url: str) -> None:
    # decode_responses=True makes redis-py decode every value as UTF-8: an encrypted
    # value (bytes) raised UnicodeDecodeError from every read of its hash, which must
    # never raise. It is refused where the mistake is made.
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ConfigurationError, match="decode_responses"):
        RedisStore(client, encryption_key=b"k" * 32)
    with pytest.raises(ConfigurationError, match="decode_responses"):
        RedisStore(client)
    client.close()


def test_entries_that_do_not_decrypt_are_one_warning_a_while_not_one_per_entry(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # After a key rotation every entry of a hash fails to decrypt: each read logged one
    # warning per entry (40 here), on every cache miss, where every other warning of
    # the store comes at most every 30 s.
    from tokensmith._clock import FakeClock

    writer = RedisStore(redis_client, encryption_key=b"a" * 32)
    writer.apply(
        [
            EntryPut(
                "RefreshToken", f"rt-{n}", {"home_account_id": HOME, "secret": f"rt-secret-{n}"}
            )
            for n in range(40)
        ]
    )
    clock = FakeClock(0.0)
    rotated = RedisStore(redis_client, encryption_key=b"b" * 32, timer=clock)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        for _ in range(3):
            assert rotated.read(f"user:{HOME}") == []
        assert rotated.read_prefix("user:") == []
        clock.advance(31)
        assert rotated.read(f"user:{HOME}") == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert "40 Redis entries" in warnings[0] and f"user:{HOME}" in warnings[0]
    assert "rt-secret" not in caplog.text


def test_a_cluster_client_is_a_configuration_error() -> None:
    # Every sign-in write spans hashes in several slots (the user's, the accounts
    # hash), which a cluster refuses in one MULTI/EXEC: apply() raised
    # CrossSlotTransactionError (no RedisError), then TypeError from its pipeline's eval.
    import redis

    class Cluster(redis.RedisCluster):
        def __init__(self) -> None:  # no cluster to discover here
            pass

    with pytest.raises(ConfigurationError, match="Redis Cluster"):
        RedisStore(Cluster())


@pytest.mark.parametrize(
    "url", ["http://h", "redis://:s3cret@h:abc", "redis://h/?socket_timeout=x", 5]
)
def test_a_bad_url_is_a_configuration_error_that_does_not_quote_it(url: Any) -> None:
    # redis-py's ValueError (an AttributeError for a url that is not text) escaped.
    with pytest.raises(ConfigurationError, match="not a Redis URL") as raised:
        RedisStore(url=url)
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    "times", [{"backoff": "1"}, {"max_backoff": None}, {"backoff": True}, {"max_backoff": 1e300}]
)
def test_a_bad_backoff_is_a_configuration_error(redis_client: Any, times: Any) -> None:
    # A backoff or max_backoff that is not a number raised TypeError from a comparison.
    with pytest.raises(ConfigurationError, match="backoff"):
        RedisStore(redis_client, **times)


def test_an_encrypted_value_copied_to_another_partition_does_not_open_there(
    redis_client: Any,
) -> None:
    # The associated data was the field alone: someone who may write to Redis could copy
    # a user's sealed refresh token into another user's hash (same field) and the store
    # read it there as that user's.
    store = RedisStore(redis_client, encryption_key=b"k" * 32)
    entry = {"home_account_id": HOME, "secret": "rt-of-the-first-user"}
    store.apply([EntryPut("RefreshToken", "rt-1", entry)])
    source, target = f"tokensmith:p:user:{HOME}", "tokensmith:p:user:someone.else"
    field = b"RefreshToken|rt-1"
    redis_client.hset(target, field, redis_client.hget(source, field))
    assert store.read("user:someone.else") == []
    assert [row[2]["secret"] for row in store.read(f"user:{HOME}")] == ["rt-of-the-first-user"]
    # another prefix reads a copied namespace: the prefix is not part of what is bound
    for key in redis_client.keys("tokensmith:*"):
        redis_client.copy(key, b"copied:" + key[len(b"tokensmith:") :])
    moved = RedisStore(redis_client, prefix="copied:", encryption_key=b"k" * 32)
    assert [row[2]["secret"] for row in moved.read(f"user:{HOME}")] == ["rt-of-the-first-user"]


def test_encryption_keys_rotate_the_first_sealing_any_opening(redis_client: Any) -> None:
    old, new = b"o" * 32, b"n" * 16
    entry = {"home_account_id": HOME, "secret": "written-under-the-old-key"}
    RedisStore(redis_client, encryption_key=old).apply([EntryPut("RefreshToken", "rt-o", entry)])
    rolling = RedisStore(redis_client, encryption_key=[new, old])
    rolling.apply([EntryPut("RefreshToken", "rt-n", {**entry, "secret": "under-the-new-key"})])

    def secrets(store: RedisStore) -> list[str]:
        return sorted(row[2]["secret"] for row in store.read(f"user:{HOME}"))

    both = ["under-the-new-key", "written-under-the-old-key"]
    assert secrets(rolling) == both
    assert secrets(RedisStore(redis_client, encryption_key=(new, old))) == both
    assert secrets(RedisStore(redis_client, encryption_key=new)) == ["under-the-new-key"]
    assert secrets(RedisStore(redis_client, encryption_key=old)) == ["written-under-the-old-key"]


@pytest.mark.parametrize(
    "key", [[], [b"short"], [b"k" * 32, "text"], "k" * 32, bytearray(32), 32, {b"k" * 32}]
)
def test_a_bad_encryption_key_is_a_configuration_error(redis_client: Any, key: Any) -> None:
    with pytest.raises(ConfigurationError, match="encryption_key"):
        RedisStore(redis_client, encryption_key=key)


def _sign_in(cache: PersistentTokenCache, uid: str, username: str, utid: str = "tid") -> None:
    cache.add(user_event(uid=uid, utid=utid, username=username, scope=["User.Read"]))


def test_get_accounts_of_one_username_reads_only_that_users_accounts(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A fresh process's get_accounts(username=...) read the accounts hash whole (every
    # user's account, parsed and held in memory) for one user's.
    writer = _cache(redis_client)
    for n in range(30):
        _sign_in(writer, f"u{n}", f"user{n}@contoso.example")
    _sign_in(writer, "u7b", "User7@Contoso.example", utid="other-tenant")  # one name, two
    counting = _Counting(redis_client)
    fresh = PersistentTokenCache(RedisStore(counting), clock=time.time)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        found = fresh.find_accounts(username="USER7@contoso.example")
        assert sorted(a["home_account_id"] for a in found) == ["u7.tid", "u7b.other-tenant"]
        assert counting.reads == 0  # no HGETALL of the accounts hash
        assert len(fresh.store.read("accounts", username="user7@CONTOSO.example")) == 2
        assert fresh.find_accounts(username="nobody@contoso.example") == []
        everyone = fresh.find_accounts()  # no username: the whole hash, index left out
    assert len(everyone) == 31 and all(a.get("username") for a in everyone)
    assert caplog.records == []
    index = [f for f in redis_client.hkeys("tokensmith:p:accounts") if f.startswith(b"#")]
    assert len(index) == 30 and not [f for f in index if b"@" in f]  # digests, not names


def test_an_encrypted_stores_username_index_names_no_username(redis_client: Any) -> None:
    _sign_in(_cache(redis_client, encryption_key=b"k" * 32), "u1", "ada@contoso.example")
    raw = b"".join(
        field + value
        for key in redis_client.keys("*")
        for field, value in redis_client.hgetall(key).items()
    )
    assert b"#username|" in raw and b"contoso" not in raw  # (ada@contoso.example)
    found = _cache(redis_client, encryption_key=b"k" * 32).find_accounts(
        username="Ada@contoso.example"
    )
    assert [a["home_account_id"] for a in found] == ["u1.tid"]


def test_a_removed_account_leaves_its_usernames_index(redis_client: Any) -> None:
    writer = _cache(redis_client)
    _sign_in(writer, "u1", "ada@contoso.example")
    _sign_in(writer, "u2", "ada@contoso.example", utid="t2")
    writer.forget_account(home_account_id="u1.tid", environments=[ENV], client_id=CLIENT_ID)
    store = RedisStore(redis_client)
    assert [
        r[2]["home_account_id"] for r in store.read("accounts", username="ada@contoso.example")
    ] == ["u2.t2"]
    writer.forget_account(home_account_id="u2.t2", environments=[ENV], client_id=CLIENT_ID)
    assert store.read("accounts", username="ada@contoso.example") == []
    fields = redis_client.hkeys("tokensmith:p:accounts")
    assert not [f for f in fields if f.startswith(b"#username|")]  # an empty list goes


def test_an_import_indexes_usernames_and_an_export_leaves_the_index_out(
    redis_client: Any,
) -> None:
    plain = _plain_cache_with(["ada@contoso.example", "bob@contoso.example"])
    store = RedisStore(redis_client)
    store.replace_all(json.loads(plain.serialize()))
    rows = store.read("accounts", username="BOB@contoso.example")
    assert [r[2]["username"] for r in rows] == ["bob@contoso.example"]
    exported = store.read_all()
    assert sorted(exported["Account"]) == sorted(json.loads(plain.serialize())["Account"])
    assert not [k for section in exported.values() for k in section if k.startswith("#")]


def _plain_cache_with(usernames: list[str]) -> Any:
    import tokensmith

    cache = tokensmith.SerializableTokenCache()
    for n, username in enumerate(usernames):
        cache.add(user_event(uid=f"p{n}", username=username, scope=["User.Read"]))
    return cache


def test_a_username_with_many_accounts_reads_them_all(redis_client: Any) -> None:
    # (the index is read in chunks of 500: Lua's unpack takes a few thousand at most)
    store = RedisStore(redis_client)
    store.apply(
        [
            EntryPut(
                "Account", f"u{n}.t-{ENV}-t", {"home_account_id": f"u{n}.t", "username": "x@y"}
            )
            for n in range(1203)
        ]
    )
    assert len(store.read("accounts", username="X@Y")) == 1203


@pytest.mark.parametrize("damage", [b"[true]", b"[null]", b"[[]]", b'{"a": 1}', b"not json"])
def test_a_damaged_username_index_is_mended_by_the_next_write(
    redis_client: Any, damage: bytes
) -> None:
    # An item that is not a string (cjson's null, a table) made HMGET fail: every read of
    # that username failed, and a write kept the item; a JSON object was written back
    # with the new field under "1" and listed nothing.
    store = RedisStore(redis_client)

    def account(uid: str) -> EntryPut:
        home = f"{uid}.t"
        return EntryPut("Account", f"{home}-{ENV}-t", {"home_account_id": home, "username": "d@x"})

    store.apply([account("u1")])
    (index,) = [f for f in redis_client.hkeys("tokensmith:p:accounts") if f.startswith(b"#")]
    redis_client.hset("tokensmith:p:accounts", index, damage)
    # a list naming no account present is read past (the whole hash) and mended
    assert [row[2]["home_account_id"] for row in store.read("accounts", username="d@x")] == ["u1.t"]
    assert store.apply([account("u2")]) is None
    found = store.read("accounts", username="D@X")
    assert sorted(row[2]["home_account_id"] for row in found) == ["u1.t", "u2.t"]


def test_a_redis_user_without_scripts_still_writes_accounts_and_finds_them(
    redis_client: Any, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The username index's scripts made Redis refuse every write carrying an account
    # (NOPERM for EVAL inside the MULTI) for a user whose ACL has no @scripting, and
    # reads by username answered none; without scripts the store goes on without it.
    with limited_client(redis_client, redis_url, "noscripts", "@scripting") as limited:
        cache = PersistentTokenCache(RedisStore(limited), clock=time.time)
        with caplog.at_level(logging.WARNING, logger="tokensmith"):
            _sign_in(cache, "u1", "ada@contoso.example")
            _sign_in(cache, "u2", "bob@contoso.example")
        assert sum("refuses scripts" in r.getMessage() for r in caplog.records) == 1
        fresh = PersistentTokenCache(RedisStore(limited), clock=time.time)
        found = fresh.find_accounts(username="Ada@contoso.example")
        assert [a["home_account_id"] for a in found] == ["u1.tid"]
        assert fresh.find_refresh_tokens(home_account_id="u2.tid", environments=[ENV])
