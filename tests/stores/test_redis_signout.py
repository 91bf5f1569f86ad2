"""A sign-out over RedisStore removes, in the MULTI/EXEC of its batch, every field the
sign-out covers (``SignOut.removes``), not only the fields it read: a sign-in of the
same user that another process lands between the sign-out's read and its batch is
removed whole (no tokens left without their Account entry), and so is a value no key
opens, which reads skip (judged by its field name). The Redis twin of
test_signout_partition.py: two caches over two stores on one real redis-server stand
for the two processes; the interleaving is made by wrapping the first store's
partition read, with no sleep."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.stores._apps import cca
from tests.stores.conftest import _free_port
from tests.stores.test_signout_partition import HOME, LEFT_OF_U1, OTHER_CLIENT, _after_read
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, user_event

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import EntryPut
from tokensmith.cache.sign_out import SignOut
from tokensmith.stores import PersistentTokenCache, RedisStore
from tokensmith.stores._redis_sign_out import WATCHED_TRIES
from tokensmith.stores.base import DROPPED

ACCOUNTS = "tokensmith:p:accounts"
KEY = b"k" * 32

Stores = Callable[[], RedisStore]
Caches = Callable[[RedisStore], PersistentTokenCache]


@pytest.fixture(params=[None, KEY], ids=["plain", "encrypted"])
def make_store(request: pytest.FixtureRequest, redis_client: Any) -> Stores:
    return lambda: RedisStore(redis_client, encryption_key=request.param)


@pytest.fixture(params=[None, 6], ids=["unbounded", "bounded"])
def make_cache(request: pytest.FixtureRequest) -> Caches:
    """A cache over ``store``, unbounded or bounded (``max_entries``: fewer than the
    entries of these tests, so partitions are evicted and read again)."""
    return lambda store: PersistentTokenCache(store, clock=time.time, max_entries=request.param)


def _sign_in(cache: PersistentTokenCache, uid: str = "u1", **extra: Any) -> None:
    event = user_event(uid=uid, utid="tid", username=f"{uid}@contoso.example", **extra)
    cache.add(event, now=time.time())


def _fields_of(client: Any, home: str) -> list[tuple[str, str]]:
    """``(credential_type, client)`` of every field of ``home`` in Redis (its hash and
    its Account fields), the client told by the field's key (this one unless the other
    one's id is in it)."""
    fields = list(client.hkeys(f"tokensmith:p:user:{home}"))
    fields += [f for f in client.hkeys(ACCOUNTS) if f.startswith(f"Account|{home}-".encode())]
    return sorted(
        (f.decode().partition("|")[0], OTHER_CLIENT if OTHER_CLIENT.encode() in f else CLIENT_ID)
        for f in fields
    )


def _damage(client: Any, credential_type: str, home: str) -> None:
    """Make ``home``'s values of ``credential_type`` unreadable (field names kept)."""
    for name in (f"tokensmith:p:user:{home}", ACCOUNTS):
        for field in client.hkeys(name):
            if field.startswith(f"{credential_type}|{home}-".encode()):
                client.hset(name, field, b"{damaged")


@pytest.fixture
def two_processes(
    redis_client: Any, make_store: Stores, make_cache: Caches
) -> Iterator[tuple[Any, Any]]:
    """``(here, elsewhere)``: two caches over two stores on one Redis; u1 is signed in
    to this client and to another one (not of a family), u2 to this one."""
    here, elsewhere = make_cache(make_store()), make_cache(make_store())
    _sign_in(here)
    _sign_in(here, client_id=OTHER_CLIENT)
    _sign_in(here, "u2")
    yield here, elsewhere
    here.close()
    elsewhere.close()


@pytest.mark.parametrize("partition", ["user:u1.tid", "accounts", "meta"])
def test_a_sign_in_elsewhere_between_the_read_and_the_batch_is_removed_whole(
    redis_client: Any, two_processes: tuple[Any, Any], partition: str
) -> None:
    here, elsewhere = two_processes
    u2_before = redis_client.hgetall("tokensmith:p:user:u2.tid")
    clock = FakeClock(int(time.time()))
    app = cca(FakeEntra(clock), clock, here, CLIENT_ID)
    [account] = [a for a in app.get_accounts() if a["home_account_id"] == HOME]
    # elsewhere signs u1 in again with other scopes: new AccessToken and RefreshToken
    # keys (both hold the scopes), and the same Account and IdToken keys
    _after_read(
        here.store, partition, lambda: _sign_in(elsewhere, scope=["Mail.Read", "offline_access"])
    )
    app.remove_account(account)
    assert _fields_of(redis_client, HOME) == LEFT_OF_U1
    assert redis_client.hgetall("tokensmith:p:user:u2.tid") == u2_before
    assert [a["home_account_id"] for a in app.get_accounts()] == ["u2.tid"]
    # elsewhere's next refresh reads the store first: the sign-out won there too
    found = elsewhere.find_refresh_tokens(
        home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID
    )
    assert found == []


@pytest.mark.parametrize("credential_type", ["AccessToken", "RefreshToken", "IdToken", "Account"])
def test_a_damaged_value_of_the_account_goes_with_the_sign_out(
    redis_client: Any,
    two_processes: tuple[Any, Any],
    make_store: Stores,
    make_cache: Caches,
    credential_type: str,
) -> None:
    _damage(redis_client, credential_type, HOME)  # (the other client's values too)
    u2_before = redis_client.hgetall("tokensmith:p:user:u2.tid")
    fresh = make_cache(make_store())  # a process that reads them (and skips them)
    fresh.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    # (the other client's damaged refresh token stays: its key names another client,
    # and its family is unknown)
    assert _fields_of(redis_client, HOME) == LEFT_OF_U1
    assert redis_client.hgetall("tokensmith:p:user:u2.tid") == u2_before
    assert len(_fields_of(redis_client, "u2.tid")) == 4
    fresh.close()


def test_an_account_memory_finds_nothing_of_is_still_removed_from_redis(
    redis_client: Any, make_store: Stores
) -> None:
    writer = PersistentTokenCache(make_store(), clock=time.time)
    _sign_in(writer)
    for credential_type in ("AccessToken", "RefreshToken", "IdToken", "Account"):
        _damage(redis_client, credential_type, HOME)  # every value of u1 unreadable: no batch
    fresh = PersistentTokenCache(make_store(), clock=time.time)
    fresh.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _fields_of(redis_client, HOME) == []
    # (its username is unknown: the index lists the field still, which reads skip)
    assert fresh.find_accounts(username="u1@contoso.example") == []
    writer.close()
    fresh.close()


def test_a_family_refresh_token_written_elsewhere_goes_and_a_non_family_one_stays(
    redis_client: Any, make_store: Stores, make_cache: Caches
) -> None:
    here, elsewhere = make_cache(make_store()), make_cache(make_store())
    _sign_in(here, foci="1")  # this client is of family 1

    def sign_in_elsewhere() -> None:
        _sign_in(elsewhere, client_id="family-member", foci="1", secret_suffix="-fam")
        _sign_in(elsewhere, client_id=OTHER_CLIENT, secret_suffix="-other")

    _after_read(here.store, "meta", sign_in_elsewhere)
    here.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _fields_of(redis_client, HOME) == LEFT_OF_U1
    here.close()
    elsewhere.close()


def _put(credential_type: str) -> EntryPut:
    entry = {
        "credential_type": credential_type,
        "home_account_id": HOME,
        "environment": ENV,
        "client_id": CLIENT_ID,
        "secret": "new",
        "expires_on": str(int(time.time()) + 3600),  # (a hash of access tokens only expires)
    }
    return EntryPut(credential_type, f"{HOME}-new-{credential_type}", entry)


def test_a_write_after_the_sign_out_in_its_batch_stays(
    redis_client: Any, make_store: Stores
) -> None:
    """The store removes what the sign-out covers first, then writes the batch in
    order: a put the batch carries after the removals is kept."""
    store = make_store()
    PersistentTokenCache(store, clock=time.time).add(user_event(uid="u1", utid="tid"))
    assert (
        store.apply_sign_out([_put("AccessToken")], SignOut(HOME, CLIENT_ID, {ENV: None})) is None
    )
    assert redis_client.hkeys(f"tokensmith:p:user:{HOME}") == [
        f"AccessToken|{HOME}-new-AccessToken".encode()
    ]
    assert _fields_of(redis_client, HOME) == [("AccessToken", CLIENT_ID)]


class _Racing:
    """A Redis client whose transactions another writer always races: each watched
    MULTI comes right after a write to the account's hash (a refresh elsewhere)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.raced = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def pipeline(self, **kwargs: Any) -> Any:
        pipe = self.client.pipeline(**kwargs)
        multi = pipe.multi

        def raced_multi() -> None:
            self.raced += 1
            self.race(pipe)
            multi()

        pipe.multi = raced_multi
        return pipe

    def race(self, pipe: Any) -> None:
        self.client.hset(f"tokensmith:p:user:{HOME}", "Other|x", b"{}")


def _signed_in_then_out_over(client: _Racing) -> object:
    """Sign u1 in over Redis, then out (an empty batch) over ``client``: what
    ``apply_sign_out`` returned."""
    PersistentTokenCache(RedisStore(client.client), clock=time.time).add(
        user_event(uid="u1", utid="tid")
    )
    return RedisStore(client).apply_sign_out([], SignOut(HOME, CLIENT_ID, {ENV: None}))


def test_a_sign_out_raced_every_time_still_lands_its_removals_unwatched(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    racing = _Racing(redis_client)
    assert _signed_in_then_out_over(racing) is None
    assert racing.raced == WATCHED_TRIES
    assert _fields_of(redis_client, HOME) == [("Other", CLIENT_ID)]  # (not the sign-out's)
    assert sum("sent unwatched" in r.getMessage() for r in caplog.records) == 1


def test_a_sign_out_while_redis_is_down_is_dropped_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisStore(url=f"redis://127.0.0.1:{_free_port()}/0", backoff=0)
    sign_out = SignOut(HOME, CLIENT_ID, {ENV: None})
    assert store.apply_sign_out([_put("AccessToken")], sign_out) is DROPPED
    assert "unreachable" in caplog.text
    store.close()


class _Killing(_Racing):
    """A Redis client whose watched transactions lose their connection before MULTI."""

    def race(self, pipe: Any) -> None:
        self.client.client_kill_filter(_id=pipe.client_id())


def test_a_connection_lost_while_watching_is_an_outage_not_a_race(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # (redis-py reports it as a WatchError, whose context is the ConnectionError)
    killing = _Killing(redis_client)
    assert _signed_in_then_out_over(killing) is DROPPED
    assert killing.raced == 1  # not tried again: backed off
    assert "unreachable" in caplog.text
    assert len(_fields_of(redis_client, HOME)) == 4  # nothing removed


def test_keys_redis_refuses_to_read_leave_the_rest_of_the_sign_out(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # (another writer's strings where the account's hash and its set belong: WRONGTYPE)
    PersistentTokenCache(RedisStore(redis_client), clock=time.time).add(
        user_event(uid="u1", utid="tid")
    )
    redis_client.delete(f"tokensmith:p:user:{HOME}")
    redis_client.set(f"tokensmith:p:user:{HOME}", b"not a hash")
    redis_client.set(f"tokensmith:obo-of:{hashlib.sha256(HOME.encode()).hexdigest()}", b"x")
    sign_out = SignOut(HOME, CLIENT_ID, {ENV: None})
    assert RedisStore(redis_client).apply_sign_out([], sign_out) is None
    assert not [f for f in redis_client.hkeys(ACCOUNTS) if f.startswith(b"Account|")]
    assert caplog.text.count("WRONGTYPE") == 2
