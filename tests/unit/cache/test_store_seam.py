"""The store seam: typed write events, handed over after the cache lock is released."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, app_event, user_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.cache.changes import Change, EntryDeleted, EntryPut


class Recorder:
    """A sink that records each batch and whether the cache lock was free meanwhile."""

    def __init__(self, cache: SerializableTokenCache) -> None:
        self.cache = cache
        self.batches: list[list[Change]] = []
        self.lock_was_free: list[bool] = []

    def apply(self, changes: Sequence[Change]) -> None:
        free: list[bool] = []

        def probe() -> None:
            got = self.cache._lock.acquire(timeout=5)
            free.append(got)
            if got:
                self.cache._lock.release()

        worker = threading.Thread(target=probe)
        worker.start()
        worker.join()
        self.lock_was_free.append(free[0])
        self.batches.append(list(changes))


def _cache() -> tuple[SerializableTokenCache, Recorder]:
    cache = SerializableTokenCache()
    recorder = Recorder(cache)
    cache._set_sink(recorder)
    return cache, recorder


def test_one_token_response_is_one_batch_in_msal_write_order() -> None:
    cache, rec = _cache()
    cache.add(user_event(), now=NOW)
    assert len(rec.batches) == 1
    kinds = [c.credential_type for c in rec.batches[0]]
    assert kinds == ["AccessToken", "Account", "IdToken", "RefreshToken", "AppMetadata"]
    assert all(isinstance(c, EntryPut) for c in rec.batches[0])
    for change in rec.batches[0]:
        assert cache._cache[change.credential_type][change.key] == change.entry
    assert rec.lock_was_free == [True]


def test_lookups_emit_nothing_and_leave_the_state_unchanged() -> None:
    cache, rec = _cache()
    cache.add(app_event(expires_in=100), now=NOW)
    cache.serialize()
    rec.batches.clear()
    query = {
        "home_account_id": None,
        "environments": [ENV],
        "client_id": CLIENT_ID,
        "realm": "contoso.example",
        "scopes": [],
    }
    assert cache.find_access_token(**query, now=NOW) is not None
    assert cache.find_access_token(**query, now=NOW + 10**6) is None  # expired
    cache.find_accounts()
    cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV])
    assert rec.batches == []
    assert cache.has_state_changed is False
    assert len(cache._cache["AccessToken"]) == 1


def test_a_sign_out_is_one_batch_of_removals_after_the_lock() -> None:
    cache, rec = _cache()
    cache.add(user_event(), now=NOW)
    rec.batches.clear()
    rec.lock_was_free.clear()
    cache.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert len(rec.batches) == 1
    removed = rec.batches[0]
    assert {c.credential_type for c in removed} == {
        "AccessToken",
        "Account",
        "IdToken",
        "RefreshToken",
    }
    assert all(isinstance(c, EntryDeleted) and c.entry["home_account_id"] == HOME for c in removed)
    assert rec.lock_was_free == [True]


def test_a_direct_modify_and_update_rt_each_reach_the_store() -> None:
    cache, rec = _cache()
    cache.add(user_event(), now=NOW)
    rt = next(iter(cache._cache["RefreshToken"].values()))
    rec.batches.clear()
    cache.update_rt(rt, "rotated")
    assert [type(c) for b in rec.batches for c in b] == [EntryPut]
    assert rec.batches[0][0].entry["secret"] == "rotated"
    cache.remove_rt(cache._cache["RefreshToken"][rec.batches[0][0].key])
    assert isinstance(rec.batches[1][0], EntryDeleted)


def test_a_slow_store_never_blocks_lookups() -> None:
    cache = SerializableTokenCache()
    entered, release = threading.Event(), threading.Event()

    class Slow:
        def apply(self, changes: Sequence[Change]) -> None:
            entered.set()
            assert release.wait(10)

    cache._set_sink(Slow())
    writer = threading.Thread(target=cache.add, args=(app_event(),), kwargs={"now": NOW})
    writer.start()
    assert entered.wait(10)
    # the store is "writing"; a lookup on another thread answers from memory at once
    done = threading.Event()

    def look() -> None:
        cache.find_accounts()
        done.set()

    threading.Thread(target=look).start()
    assert done.wait(10)
    release.set()
    writer.join()


def test_without_a_store_nothing_is_recorded() -> None:
    cache = SerializableTokenCache()
    cache.add(user_event(), now=NOW)
    assert cache._pending == []
