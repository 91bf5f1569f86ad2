"""A refresh in one process while another process signs the account out: the sign-out
wins (docs/persistence.md, "Known limits"). Two caches over one store, each with its
own connection, stand for the two processes; the fake identity provider signs the
account out through the second one while the first one's refresh is on the wire."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.stores._apps import cca
from tests.unit.application.fake_entra import FakeEntra

from tokensmith._clock import FakeClock
from tokensmith.errors import StoreError
from tokensmith.stores import FileStore, PersistentTokenCache, RedisStore, SqliteStore

SCOPES = ["User.Read"]

StoreMaker = Callable[[], Any]


@pytest.fixture(params=["sqlite", "file", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreMaker]:
    if request.param == "sqlite":
        yield lambda: SqliteStore(tmp_path / "cache.db")
    elif request.param == "file":
        yield lambda: FileStore(tmp_path / "cache.json")
    else:
        client = request.getfixturevalue("redis_client")
        yield lambda: RedisStore(client)


def _apps(make_store: StoreMaker) -> tuple[FakeEntra, FakeClock, Any, Any]:
    clock = FakeClock(int(time.time()))  # now: Redis expires keys by its own clock
    entra = FakeEntra(clock)
    here = cca(entra, clock, PersistentTokenCache(make_store(), clock=clock))
    elsewhere = cca(entra, clock, PersistentTokenCache(make_store(), clock=clock))
    done = here.acquire_token_by_refresh_token("rt-imported", SCOPES)  # a signed-in user
    assert "access_token" in done, done
    return entra, clock, here, elsewhere


def _tokens_left(make_store: StoreMaker, clock: FakeClock, home: str) -> int:
    fresh = PersistentTokenCache(make_store(), clock=clock)
    try:
        found = fresh.find_refresh_tokens(home_account_id=home, environments=[_ENV])
        return len(found) + len(fresh.find_accounts())
    finally:
        fresh.close()


_ENV = "login.microsoftonline.com"


def test_a_sign_out_elsewhere_during_a_refresh_is_not_undone(make_store: StoreMaker) -> None:
    entra, clock, here, elsewhere = _apps(make_store)
    [account] = elsewhere.get_accounts()
    issue = entra.issue
    signed_out: list[bool] = []

    def sign_out_then_answer(form: dict[str, str]) -> Any:
        if form.get("grant_type") == "refresh_token" and not signed_out:
            elsewhere.remove_account(account)  # while this refresh is on the wire
            signed_out.append(True)
        return issue(form)

    entra.token_handler = sign_out_then_answer
    [mine] = here.get_accounts()
    result = here.acquire_token_silent(SCOPES, mine, force_refresh=True)
    assert signed_out and result and "access_token" in result  # the caller gets its token
    # ... but it is not written back: no process finds the account or its tokens
    assert _tokens_left(make_store, clock, account["home_account_id"]) == 0


def test_a_refresh_without_a_sign_out_is_written_back(make_store: StoreMaker) -> None:
    _, clock, here, elsewhere = _apps(make_store)
    [mine] = here.get_accounts()
    result = here.acquire_token_silent(SCOPES, mine, force_refresh=True)
    assert result and "access_token" in result
    assert (
        elsewhere.acquire_token_silent(SCOPES, elsewhere.get_accounts()[0])["access_token"]
        == (result["access_token"])
    )
    assert _tokens_left(make_store, clock, mine["home_account_id"]) == 2  # an RT, an account


class _FailingOnce:
    """Makes the next write of ``store`` (that carries a refresh token, with
    ``refresh_tokens``) fail, as a full disk would."""

    def __init__(self, store: Any, *, refresh_tokens: bool = False) -> None:
        self.store, self.real, self.refresh_tokens = store, store.apply, refresh_tokens

    def arm(self) -> None:
        def fail(changes: Any) -> Any:
            if self.refresh_tokens and not any(
                c.credential_type == "RefreshToken" for c in changes
            ):
                return self.real(changes)
            self.store.apply = self.real
            raise StoreError("injected: disk full")

        self.store.apply = fail


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_a_write_of_this_process_that_failed_is_not_a_sign_out_elsewhere(
    kind: str, tmp_path: Path
) -> None:
    # A sign-in whose store write failed leaves its refresh token in memory only; the
    # next read of the store does not find it. That is not another process's sign-out:
    # a refresh of another account of the same cache must still be written back.
    def make() -> Any:
        if kind == "sqlite":
            return SqliteStore(tmp_path / "cache.db")
        return FileStore(tmp_path / "cache.json")

    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    store = make()
    cache = PersistentTokenCache(store, clock=clock)
    first, second = cca(entra, clock, cache, "app-a"), cca(entra, clock, cache, "app-b")
    elsewhere = cca(entra, clock, PersistentTokenCache(make(), clock=clock), "svc")
    assert "access_token" in first.acquire_token_by_refresh_token("rt-imported", SCOPES)
    _FailingOnce(store).arm()
    with pytest.raises(StoreError):
        second.acquire_token_by_refresh_token("rt-b", SCOPES)
    assert "access_token" in elsewhere.acquire_token_for_client(["api://x/.default"])
    [account] = first.get_accounts()
    refreshed = first.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert refreshed and "access_token" in refreshed
    fresh = PersistentTokenCache(make(), clock=clock)
    found = fresh.find_refresh_tokens(
        home_account_id=account["home_account_id"], environments=[_ENV], client_id="app-a"
    )
    assert [rt["secret"] for rt in found] == [refreshed["refresh_token"]]


@pytest.mark.parametrize("failure", ["outage", "out of memory"])
def test_a_write_redis_dropped_is_not_a_sign_out_elsewhere(redis_client: Any, failure: str) -> None:
    # Redis drops a write during an outage, or aborts its transaction when out of
    # memory, without raising: the refresh tokens it carried are not in Redis
    # afterwards, and that is no sign-out either.
    import redis
    from tests.stores.conftest import _free_port

    moment = [0.0]
    store = RedisStore(redis_client, timer=lambda: moment[0])
    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(store, clock=clock)
    first, second = cca(entra, clock, cache, "app-a"), cca(entra, clock, cache, "app-b")
    assert "access_token" in first.acquire_token_by_refresh_token("rt-imported", SCOPES)
    if failure == "outage":
        store.client = redis.Redis(
            port=_free_port(), socket_connect_timeout=0.5, socket_timeout=0.5
        )
    else:
        policy = redis_client.config_get("maxmemory-policy")["maxmemory-policy"]
        redis_client.config_set("maxmemory-policy", "noeviction")
        redis_client.config_set("maxmemory", 1)
    try:
        assert "access_token" in second.acquire_token_by_refresh_token("rt-b", SCOPES)  # dropped
    finally:
        if failure == "outage":
            store.client = redis_client
        else:
            redis_client.config_set("maxmemory", 0)
            redis_client.config_set("maxmemory-policy", policy)
    moment[0] += 3600  # any back-off is over
    [account] = first.get_accounts()
    refreshed = first.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert refreshed and "access_token" in refreshed
    fresh = PersistentTokenCache(RedisStore(redis_client), clock=clock)
    found = fresh.find_refresh_tokens(
        home_account_id=account["home_account_id"], environments=[_ENV], client_id="app-a"
    )
    assert [rt["secret"] for rt in found] == [refreshed["refresh_token"]]


def _sign_out_during_the_next_refresh(entra: FakeEntra, elsewhere: Any) -> list[bool]:
    [account] = elsewhere.get_accounts()
    issue, done = entra.issue, []

    def handler(form: dict[str, str]) -> Any:
        if form.get("grant_type") == "refresh_token" and not done:
            elsewhere.remove_account(account)
            done.append(True)
        return issue(form)

    entra.token_handler = handler
    return done


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_a_sign_out_after_a_failed_rotation_is_still_seen(kind: str, tmp_path: Path) -> None:
    # The store keeps the old refresh token under the key a failed rotation wrote:
    # its removal by another process's sign-out later is a removal all the same.
    def make() -> Any:
        return (
            SqliteStore(tmp_path / "c.db") if kind == "sqlite" else FileStore(tmp_path / "c.json")
        )

    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    store = make()
    here = cca(entra, clock, PersistentTokenCache(store, clock=clock))
    elsewhere = cca(entra, clock, PersistentTokenCache(make(), clock=clock))
    assert "access_token" in here.acquire_token_by_refresh_token("rt-imported", SCOPES)
    [mine] = here.get_accounts()
    _FailingOnce(store, refresh_tokens=True).arm()  # the rotated refresh token's write
    with pytest.raises(StoreError):
        here.acquire_token_silent_with_error(SCOPES, mine, force_refresh=True)
    signed_out = _sign_out_during_the_next_refresh(entra, elsewhere)
    assert "access_token" in here.acquire_token_silent(SCOPES, mine, force_refresh=True)
    assert signed_out and _tokens_left(make, clock, mine["home_account_id"]) == 0


def test_an_import_puts_what_it_holds_in_the_store(tmp_path: Path) -> None:
    # After deserialize() the store holds the import: a sign-out elsewhere of an
    # account whose earlier write had failed is seen.
    def make() -> Any:
        return SqliteStore(tmp_path / "c.db")

    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    store = make()
    cache = PersistentTokenCache(store, clock=clock)
    here = cca(entra, clock, cache)
    _FailingOnce(store).arm()
    with pytest.raises(StoreError):
        here.acquire_token_by_refresh_token("rt-imported", SCOPES)
    cache.deserialize(cache.serialize())  # memory held the sign-in: now the store does
    elsewhere = cca(entra, clock, PersistentTokenCache(make(), clock=clock))
    signed_out = _sign_out_during_the_next_refresh(entra, elsewhere)
    [mine] = here.get_accounts()
    assert "access_token" in here.acquire_token_silent(SCOPES, mine, force_refresh=True)
    assert signed_out and _tokens_left(make, clock, mine["home_account_id"]) == 0


def _refresh_while_evicted_and_signed_out_elsewhere(
    make: StoreMaker, cache_class: type[PersistentTokenCache], bound: int | None
) -> int:
    """Sign in through a ``cache_class`` cache (bounded by ``bound``), then refresh while
    other clients' app tokens evict the account's partition (with a bound) and another
    process signs the account out; the entries of the account left in the store."""
    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    cache = cache_class(make(), clock=clock, max_entries=bound)
    here = cca(entra, clock, cache)
    elsewhere = cca(entra, clock, PersistentTokenCache(make(), clock=clock))
    assert "access_token" in here.acquire_token_by_refresh_token("rt-imported", SCOPES)
    [mine] = here.get_accounts()
    [account] = elsewhere.get_accounts()
    issue, busy = entra.issue, []

    def handler(form: dict[str, str]) -> Any:
        if form.get("grant_type") == "refresh_token" and not busy:
            busy.append(True)
            for n in range(8 if bound else 0):  # more app tokens than the bound holds
                other = cca(entra, clock, cache, f"daemon-{n}")
                assert "access_token" in other.acquire_token_for_client(["api://x/.default"])
            elsewhere.remove_account(account)
        return issue(form)

    entra.token_handler = handler
    assert "access_token" in here.acquire_token_silent(SCOPES, mine, force_refresh=True)
    assert busy
    return _tokens_left(make, clock, mine["home_account_id"])


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_bounded_cache_keeps_the_account_while_its_refresh_is_on_the_wire(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Other work evicts the account's partition from a bounded cache while its refresh
    # is on the wire, and another process signs the account out then: the write-back
    # is still dropped (the partition stays in memory until the write-back, so the
    # cache still knows which refresh tokens the store held).
    def make() -> Any:
        if kind == "sqlite":
            return SqliteStore(tmp_path / "c.db")
        return RedisStore(request.getfixturevalue("redis_client"))

    assert _refresh_while_evicted_and_signed_out_elsewhere(make, PersistentTokenCache, 6) == 0


class _Audited(PersistentTokenCache):
    """A subclass overriding a hook, as an app that audits writes would: the engine then
    goes through MSAL's hooks (``HookedCache``), which keep the guard to themselves."""

    def modify(self, credential_type: Any, old_entry: Any, new_key_value_pairs: Any = None) -> Any:
        return super().modify(credential_type, old_entry, new_key_value_pairs)


@pytest.mark.parametrize("bound", [None, 6])
def test_a_sign_out_elsewhere_is_seen_through_a_subclass_with_hooks(
    bound: int | None, tmp_path: Path
) -> None:
    def make() -> Any:
        return SqliteStore(tmp_path / "c.db")

    assert _refresh_while_evicted_and_signed_out_elsewhere(make, _Audited, bound) == 0
