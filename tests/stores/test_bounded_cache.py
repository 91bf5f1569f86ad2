"""BoundedTokenCache: a memory-only cache that keeps to its bound (expired tokens
first, then least recently used partitions) and answers like a plain cache otherwise."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from tests.stores._apps import async_cca
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import (
    CLIENT_ID,
    ENV,
    NOW,
    app_event,
    obo_event,
    obo_token,
    user_event,
    user_token,
)

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.cache.hooks import HookedCache, cache_access
from tokensmith.errors import ConfigurationError
from tokensmith.stores import BoundedTokenCache

SCOPE = ["https://graph.microsoft.com/.default"]


def _counted(cache: tokensmith.SerializableTokenCache) -> int:
    """Entries the bound counts: every section but AppMetadata."""
    return sum(len(s) for name, s in cache._cache.items() if name != "AppMetadata")


def _sign_in(cache: tokensmith.SerializableTokenCache, uid: str) -> None:
    cache.add(user_event(uid=uid, utid="tid", scope=["User.Read"], username=f"{uid}@x"), now=NOW)


def test_many_users_never_take_it_past_its_bound() -> None:
    cache = BoundedTokenCache(40, clock=lambda: NOW)
    peak = 0
    for n in range(100):
        _sign_in(cache, f"u{n}")
        peak = max(peak, _counted(cache))
    assert peak <= 40  # each sign-in is 4 entries: AT, RT, IdToken, Account
    assert _counted(cache) >= 36 - 4  # shrunk to 90% of the bound, not emptied
    assert all(user_token(cache, f"u{n}") is not None for n in range(93, 100))  # the latest stay
    assert user_token(cache, "u0") is None and cache.evicted > 60
    homes = {a["home_account_id"] for a in cache.find_accounts()}
    assert "u0.tid" not in homes and "u99.tid" in homes  # an evicted user's account goes too
    assert len(homes) == len(cache._cache["RefreshToken"]) == len(cache._cache["IdToken"])
    assert cache.has_state_changed


def test_a_hit_keeps_its_user_and_the_oldest_unused_one_goes() -> None:
    cache = BoundedTokenCache(13, clock=lambda: NOW)
    for uid in ("u0", "u1", "u2"):
        _sign_in(cache, uid)
    hot = user_token(cache, "u0")  # used: u1 is the least recently used now
    _sign_in(cache, "u3")  # 16 entries: shrink to 12 (u1's 4 go)
    assert user_token(cache, "u0") is hot
    assert user_token(cache, "u1") is None
    assert user_token(cache, "u2") is not None and user_token(cache, "u3") is not None


def test_expired_tokens_go_before_any_partition() -> None:
    cache = BoundedTokenCache(5, clock=lambda: NOW)
    for n in range(4):  # four tenants, four partitions, all expired by NOW
        cache.add(app_event(tenant=f"t{n}.example", expires_in=10), now=NOW - 100)
    cache.add(app_event(tenant="live1.example"), now=NOW)
    cache.add(app_event(tenant="live2.example"), now=NOW)  # 6 > 5: the sweep suffices
    tenants = sorted(e["realm"] for e in cache._cache["AccessToken"].values())
    assert tenants == ["live1.example", "live2.example"]
    assert cache.evicted == 0
    assert len(cache._cache["AppMetadata"]) == 1  # kept, not counted


def test_a_loaded_state_is_cut_to_the_bound_and_still_serializes() -> None:
    plain = tokensmith.SerializableTokenCache()
    for n in range(30):
        _sign_in(plain, f"u{n}")
    cache = BoundedTokenCache(20, clock=lambda: NOW)
    cache.deserialize(plain.serialize())
    assert _counted(cache) <= 20
    assert (
        user_token(cache, "u29") is not None and user_token(cache, "u0") is None
    )  # first loaded, first out
    again = tokensmith.SerializableTokenCache()
    again.deserialize(cache.serialize())
    assert {a["home_account_id"] for a in again.find_accounts()} == {
        a["home_account_id"] for a in cache.find_accounts()
    }
    assert json.loads(cache.serialize())["AppMetadata"]


def test_removals_are_counted_so_room_is_not_lost() -> None:
    cache = BoundedTokenCache(8, clock=lambda: NOW)
    _sign_in(cache, "u0")
    _sign_in(cache, "u1")
    cache.forget_account(home_account_id="u0.tid", environments=[ENV], client_id=CLIENT_ID)
    _sign_in(cache, "u2")  # 8 counted, not 12: u0's removal made room, nothing evicted
    assert (
        cache.evicted == 0
        and user_token(cache, "u1") is not None
        and user_token(cache, "u2") is not None
    )


def test_a_hostile_state_loads_and_its_bad_entries_are_kept_uncounted() -> None:
    state = {
        "AccessToken": {"k": "not-a-dict", "k2": [1], "k3": {"home_account_id": 5}},
        "Account": {"a": {"home_account_id": 7}, "b": None},
        "RefreshToken": "not a section",
    }
    cache = BoundedTokenCache(2, clock=lambda: NOW)
    cache.deserialize(json.dumps(state))
    _sign_in(cache, "u0")
    assert user_token(cache, "u0") is not None
    assert json.loads(cache.serialize())["AccessToken"]["k"] == "not-a-dict"


def test_threads_writing_and_reading_at_once_leave_it_bounded_and_consistent() -> None:
    cache = BoundedTokenCache(60, clock=lambda: NOW)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(150):
                uid = f"w{worker}-{n}"
                _sign_in(cache, uid)
                user_token(cache, uid)
                user_token(cache, f"w{worker}-{n // 2}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _counted(cache) <= 60
    homes = {a["home_account_id"] for a in cache.find_accounts()}
    tokens = {e["home_account_id"] for e in cache._cache["AccessToken"].values()}
    assert homes == tokens  # whole partitions went: no account without its token


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "10", None])
def test_the_bound_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        BoundedTokenCache(bad)  # type: ignore[arg-type]


def _tenant_apps(entra: FakeEntra, clock: FakeClock, cache: Any, count: int) -> list[Any]:
    return [
        tokensmith.ConfidentialClientApplication(
            "daemon",
            "s3cret",
            authority=f"https://login.microsoftonline.com/tenant-{n}.example",
            transport=entra.transport,
            clock=clock,
            sleep=clock.sleep,
            token_cache=cache,
        )
        for n in range(count)
    ]


def test_a_multi_tenant_daemon_keeps_its_recent_tenants_and_refetches_the_others() -> None:
    clock = FakeClock(NOW)
    entra = FakeEntra(clock)
    cache = BoundedTokenCache(10, clock=clock)
    apps = _tenant_apps(entra, clock, cache, 30)
    for app in apps:
        assert app.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    assert _counted(cache) <= 10
    for app in apps[-9:]:  # the most recent tenants: from the cache
        assert app.acquire_token_for_client(SCOPE)["token_source"] == "cache"
    posted = entra.tokens_posted("client_credentials")
    assert apps[0].acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    assert entra.tokens_posted("client_credentials") == posted + 1


def test_async_apps_use_it_alike() -> None:
    clock = FakeClock(NOW)
    entra = FakeEntra(clock)
    cache = BoundedTokenCache(3, clock=clock)

    async def run() -> list[str]:
        sources = []
        for n in range(6):
            app = async_cca(entra, clock, cache, client_id=f"app-{n}")
            sources.append((await app.acquire_token_for_client(SCOPE))["token_source"])
        again = async_cca(entra, clock, cache, client_id="app-5")
        sources.append((await again.acquire_token_for_client(SCOPE))["token_source"])
        return sources

    assert asyncio.run(run()) == ["identity_provider"] * 6 + ["cache"]
    assert _counted(cache) <= 3


def test_a_new_assertion_for_the_same_user_moves_its_tokens_to_the_new_partition() -> None:
    cache = BoundedTokenCache(10, clock=lambda: NOW)
    cache.add(obo_event("old"), now=NOW)
    cache.add(obo_event("new"), now=NOW)  # same keys: the entries are now the new one's
    assert cache._lru.size == _counted(cache)  # each entry counted once
    for n in range(8):  # the old assertion's partition is the least recently used
        cache.add(app_event(tenant=f"t{n}.example"), now=NOW)
    assert cache.evicted  # (the bound was passed)
    # evicting the old assertion's (empty) partition left the new one's tokens
    assert obo_token(cache, "new") is not None
    assert cache._lru.size == _counted(cache)


def test_users_signed_in_and_out_leave_no_record_behind() -> None:
    cache = BoundedTokenCache(20, clock=lambda: NOW)
    for n in range(300):  # never more than 4 entries held: the bound is never passed
        _sign_in(cache, f"u{n}")
        cache.forget_account(home_account_id=f"u{n}.tid", environments=[ENV], client_id=CLIENT_ID)
    assert _counted(cache) == 0
    assert len(cache._lru._members) <= 20  # not one empty record per user seen


class _Extended(BoundedTokenCache):
    """A subclass overriding ``search`` as msal-extensions' caches do: applications
    then read it through ``search`` (a HookedCache), not the indexed lookups."""

    def search(self, credential_type: str, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().search(credential_type, **kwargs)


def test_a_hit_through_search_keeps_its_user_too() -> None:
    cache = _Extended(13, clock=lambda: NOW)
    access = cache_access(cache)
    assert isinstance(access, HookedCache)
    for uid in ("u0", "u1", "u2"):
        _sign_in(cache, uid)
    hot = user_token(access, "u0")  # a hit through search(): u1 is the oldest now
    assert hot is not None
    _sign_in(cache, "u3")  # 16 entries: shrink to 12 (u1's 4 go)
    assert user_token(access, "u0") == hot
    assert user_token(access, "u1") is None


@pytest.mark.parametrize("home", ["", None, 7])
def test_accounts_without_a_home_account_id_are_counted_too(home: object) -> None:
    cache = BoundedTokenCache(10, clock=lambda: NOW)
    for n in range(50):  # written through MSAL's modify(): nothing checks the field
        account = {
            "home_account_id": home,
            "environment": ENV,
            "realm": f"tenant-{n}",
            "local_account_id": "local",
            "authority_type": "MSSTS",
        }
        cache.modify("Account", account, {"username": f"user{n}@example.com"})
    assert _counted(cache) <= 10


def test_evicted_entries_are_not_kept_alive_by_the_lookups_record_of_them() -> None:
    cache = BoundedTokenCache(20, clock=lambda: NOW)
    for n in range(300):
        _sign_in(cache, f"u{n}")
        assert cache.find_refresh_tokens(home_account_id=f"u{n}.tid", environments=[ENV])
        assert cache.find_accounts(home_account_id=f"u{n}.tid")
    # the entries a lookup checked once are remembered (by identity) until forgotten
    assert len(cache._vetted) <= _counted(cache)
