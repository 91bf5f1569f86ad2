"""Bounded memory: expired tokens swept, partitions evicted LRU, answers unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
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

from tokensmith.cache import SerializableTokenCache
from tokensmith.errors import ConfigurationError
from tokensmith.stores import FileStore, PersistentTokenCache, SqliteStore


def _held(cache: SerializableTokenCache) -> int:
    return sum(len(s) for s in cache._cache.values() if isinstance(s, dict))


def test_memory_stays_bounded_and_every_user_is_still_served(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    for n in range(40):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    bounded = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=12)
    peak = 0
    for rounds in range(2):
        for n in range(40):
            assert user_token(bounded, f"u{n}") is not None, (rounds, n)
            peak = max(peak, _held(bounded))
    assert peak <= 12 + 3  # the bound plus the one partition just read (3 entries)
    assert bounded.store.count() == 40 * 4 + 1  # the store keeps everything


def test_recently_used_partitions_stay_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    for n in range(5):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=7)
    hot = user_token(cache, "u0")
    user_token(cache, "u1")
    assert user_token(cache, "u0") is hot  # touched: u1 is now the older one
    user_token(cache, "u2")  # over the bound: u1's partition goes, u0's stays
    assert user_token(cache, "u0") is hot
    homes = {e["home_account_id"] for e in cache._cache["AccessToken"].values()}
    assert homes == {"u0.tid", "u2.tid"}


def test_expired_tokens_are_dropped_before_any_partition(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=3)
    for n in range(4):
        cache.add(app_event(f"api://r{n}/.default", expires_in=10), now=NOW - 100)  # expired
    cache.add(app_event("api://live1/.default"), now=NOW)
    cache.add(app_event("api://live2/.default"), now=NOW)  # over the bound: sweep first
    tokens = cache._cache["AccessToken"].values()
    assert [e["target"] for e in tokens] == ["api://live1/.default", "api://live2/.default"]
    assert len(cache._cache["AppMetadata"]) == 1  # no partition had to go


def test_sweep_expired_removes_through_the_store(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    cache.add(app_event("api://old/.default", expires_in=10), now=NOW - 100)
    cache.add(app_event("api://new/.default"), now=NOW)
    assert cache.sweep_expired() == 1
    assert cache.store.count() == 2  # the live token and the app metadata
    assert SerializableTokenCache().sweep_expired() == 0


def test_the_bound_needs_an_entry_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="entry stores"):
        PersistentTokenCache(FileStore(tmp_path / "c.json"), max_entries=10)


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "10", float("nan"), float("inf")])
def test_the_bound_must_be_a_positive_integer(tmp_path: Path, bad: object) -> None:
    # NaN disabled the bound silently (no size compares greater), 0 raised ValueError,
    # a string TypeError from inside the cache
    with pytest.raises(ConfigurationError, match="max_entries"):
        PersistentTokenCache(SqliteStore(tmp_path / "c.db"), max_entries=bad)  # type: ignore[arg-type]


def test_threads_reading_and_evicting_at_once_keep_the_bound_consistent(tmp_path: Path) -> None:
    import sys
    import threading

    path = tmp_path / "cache.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    users = 120
    for n in range(users):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=30)
    errors: list[BaseException] = []
    wrong: list[int] = []

    def work(start: int) -> None:
        try:
            for step in range(150):
                n = (start + 7 * step) % users
                if user_token(cache, f"u{n}") is None:
                    wrong.append(n)
                cache.find_refresh_tokens(home_account_id=f"u{n}.tid", environments=[ENV])
        except BaseException as exc:  # reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and wrong == []
    lru = cache._lru
    assert lru is not None
    assert lru.size == sum(len(members) for members in lru._members.values())
    assert _held(cache) <= 30 + 3 * 6  # the bound plus a partition just read per thread


def test_a_new_assertion_for_the_same_user_is_no_removal_of_its_tokens(tmp_path: Path) -> None:
    # the AccessToken and RefreshToken keys of an on-behalf-of token do not hold the
    # assertion: a new assertion for the same user writes them into its own partition
    for bound in (None, 10):
        cache = PersistentTokenCache(
            SqliteStore(tmp_path / f"{bound}.db"), clock=lambda: NOW, max_entries=bound
        )
        cache.add(obo_event("old"), now=NOW)
        cache.add(obo_event("new"), now=NOW)
        assert obo_token(cache, "old") is None  # a miss: the old partition is read again
        # ...and what it no longer holds moved to the new one: not a sign-out elsewhere
        assert cache.removal_generation("u0.tid") == 0
        assert obo_token(cache, "new") is not None


def test_lookups_of_users_the_store_lacks_keep_memory_bounded(tmp_path: Path) -> None:
    cache = PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=lambda: NOW, max_entries=20)
    cache.add(user_event(uid="u0", utid="tid", scope=["User.Read"]), now=NOW)
    for n in range(300):  # each reads an empty partition; nothing is ever written
        assert user_token(cache, f"absent{n}") is None
        assert cache.find_accounts(username=f"nobody{n}@example.com") == []
    lru = cache._lru
    assert lru is not None
    assert len(lru._members) <= 20 and len(cache._loaded) <= 20  # not one record per miss
    assert user_token(cache, "u0") is not None


def test_dropping_empty_records_keeps_a_whole_store_read(tmp_path: Path) -> None:
    class Counting(SqliteStore):
        exports = 0

        def read_all(self) -> dict[str, Any]:
            Counting.exports += 1
            return super().read_all()

    cache = PersistentTokenCache(Counting(tmp_path / "c.db"), clock=lambda: NOW, max_entries=20)
    cache.add(user_event(uid="u0", utid="tid", scope=["User.Read"]), now=NOW)
    cache.serialize()
    for n in range(40):  # sign-outs read their (empty) partitions: records dropped later
        cache.forget_account(
            home_account_id=f"absent{n}.tid", environments=[ENV], client_id=CLIENT_ID
        )
    cache.serialize()  # nothing held was evicted: memory still holds the whole store
    assert Counting.exports == 1


def test_a_username_miss_reads_nothing_when_the_accounts_partition_is_held(
    tmp_path: Path,
) -> None:
    class Counting(SqliteStore):
        reads = 0

        def read(self, partition: str, *, username: str | None = None) -> list[Any]:
            Counting.reads += 1
            return super().read(partition, username=username)

    cache = PersistentTokenCache(Counting(tmp_path / "c.db"), clock=lambda: NOW)
    cache.add(user_event(uid="u0", utid="tid", scope=["User.Read"]), now=NOW)
    assert len(cache.find_accounts()) == 1  # the whole accounts partition, read now
    Counting.reads = 0
    assert cache.find_accounts(username="nobody@example.com") == []
    assert Counting.reads == 0  # the store has not changed since: nothing to read


def test_evicted_entries_are_not_kept_alive_by_the_lookups_record_of_them(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    for n in range(100):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=12)
    for n in range(100):  # a silent call's lookups: its access token, its refresh tokens
        assert user_token(cache, f"u{n}") is not None
        assert cache.find_refresh_tokens(home_account_id=f"u{n}.tid", environments=[ENV])
    assert len(cache._vetted) <= _held(cache)


def test_a_partition_just_read_for_a_lookup_stays_while_another_thread_evicts(
    tmp_path: Path,
) -> None:
    import threading

    path = tmp_path / "cache.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    for n in range(10):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    reached, evicted = threading.Event(), threading.Event()

    class Paused(PersistentTokenCache):
        """Stops the first lookup of u0 between its partition read and its look."""

        def _need(self, name: str, username: str | None = None) -> None:
            super()._need(name, username)
            if name == "user:u0.tid" and not reached.is_set():
                reached.set()
                assert evicted.wait(30)  # (a safeguard: set by the main thread)

    cache = Paused(SqliteStore(path), clock=lambda: NOW, max_entries=6)
    found: list[object] = []

    def look() -> None:
        found.append(
            cache.find_id_token(
                home_account_id="u0.tid", environments=[ENV], realm=None, client_id=CLIENT_ID
            )
        )

    thread = threading.Thread(target=look)
    thread.start()
    try:
        assert reached.wait(30)
        for n in range(1, 10):  # nine other users read meanwhile: far past the bound
            assert user_token(cache, f"u{n}") is not None
        lru = cache._lru
        assert lru is not None and "user:u0.tid" in lru._members  # pinned: not evicted
    finally:
        evicted.set()
        thread.join(30)
    assert found and found[0] is not None
    assert lru._pins == {} and "user:u0.tid" in lru._members  # unpinned, still held
