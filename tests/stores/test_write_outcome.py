"""What a write call learns of its store write: what a failed write left in memory
goes at the next read of its partition (or by the bound).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.unit.cache._helpers import ENV, NOW, user_event, user_token

from tokensmith.cache.changes import Change
from tokensmith.errors import StoreError
from tokensmith.stores import PersistentTokenCache, SqliteStore


class _Faulty:
    """A SQLite entry store whose writes run ``before_apply`` (in the writing thread,
    which may raise) and whose next ``fail`` writes raise; ``applied``: the keys of the
    writes that landed."""

    def __init__(self, path: Path) -> None:
        self.inner = SqliteStore(path)
        self.fail = 0
        self.before_apply: Callable[[Sequence[Change]], None] | None = None
        self.applied: set[str] = set()

    def apply(self, changes: Sequence[Change]) -> Any:
        if self.before_apply is not None:
            self.before_apply(changes)
        if self.fail:
            self.fail -= 1
            raise StoreError("injected: disk full")
        versions = self.inner.apply(changes)
        self.applied.update(change.key for change in changes)
        return versions

    def read(self, partition: str, *, username: str | None = None) -> Any:
        return self.inner.read(partition, username=username)

    def read_prefix(self, prefix: str) -> Any:
        return self.inner.read_prefix(prefix)

    def read_all(self) -> Any:
        return self.inner.read_all()

    def replace_all(self, state: Any) -> None:
        self.inner.replace_all(state)

    def version(self) -> object | None:
        return self.inner.version()

    def close(self) -> None:
        self.inner.close()


def _sign_in(cache: PersistentTokenCache, uid: str) -> None:
    cache.add(user_event(uid=uid, utid="tid", scope=["User.Read"]), now=NOW)


def _rts(cache: PersistentTokenCache, uid: str) -> list[str]:
    found = cache.find_refresh_tokens(home_account_id=f"{uid}.tid", environments=[ENV])
    return [rt["secret"] for rt in found]


def _homes(cache: PersistentTokenCache) -> list[str]:
    return sorted(account["home_account_id"] for account in cache.find_accounts())


def _in_memory(cache: PersistentTokenCache, uid: str) -> list[str]:
    return [
        section
        for section, entries in cache._cache.items()
        for entry in entries.values()
        if entry.get("home_account_id") == f"{uid}.tid"
    ]


# -- a failed write's entries in memory -----------------------------------------------


@pytest.mark.parametrize("bound", [None, 20])
def test_what_a_failed_write_left_goes_when_its_partition_is_read(
    tmp_path: Path, bound: int | None
) -> None:
    store = _Faulty(tmp_path / "c.db")
    cache = PersistentTokenCache(store, clock=lambda: NOW, max_entries=bound)
    other = PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=lambda: NOW)
    store.fail = 1
    with pytest.raises(StoreError):
        _sign_in(cache, "u1")
    _sign_in(other, "u2")  # another process writes: the store is the source of truth
    assert _rts(cache, "u1") == []  # (its partition is read: the store lacks it)
    assert _homes(cache) == _homes(other) == ["u2.tid"]
    assert _in_memory(cache, "u1") == []


def test_a_bounded_cache_evicts_what_a_failed_write_left(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    for n in range(2, 40):
        _sign_in(writer, f"u{n}")
    store = _Faulty(path)
    cache = PersistentTokenCache(store, clock=lambda: NOW, max_entries=20)
    store.fail = 1
    with pytest.raises(StoreError):
        _sign_in(cache, "u1")
    for n in range(2, 40):  # other users' partitions come in: the oldest go
        assert user_token(cache, f"u{n}") is not None
    assert _in_memory(cache, "u1") == []
    lru: Any = cache._lru
    assert lru.size == sum(len(entries) for entries in cache._cache.values())
