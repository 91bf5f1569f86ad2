"""What a write call learns of its store write: every call whose change a failed batch
carried raises, a call returns only once its change reached the store, and what a
failed write left in memory goes at the next read of its partition (or by the bound).

The interleavings are forced with events held by a faulty store and a pausing lock
(no sleeps): each test fails on the code before its fix.
"""

from __future__ import annotations

import threading
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


# -- who learns that a batch failed ---------------------------------------------------


class _Announcing(PersistentTokenCache):
    """Sets ``flushing[thread name]`` when a write call of that thread, its changes
    made in memory and the cache lock released, goes to hand them to the store."""

    flushing: dict[str, threading.Event]

    def _flush(self, *args: Any) -> None:
        event = getattr(self, "flushing", {}).get(threading.current_thread().name)
        if event is not None:
            event.set()
        super()._flush(*args)


class _Interrupt(BaseException):
    """Stands for a KeyboardInterrupt or SystemExit in the thread writing a batch."""


@pytest.mark.parametrize("injected", [StoreError, _Interrupt])
def test_every_call_whose_change_a_failed_batch_carried_raises(
    tmp_path: Path, injected: type[BaseException]
) -> None:
    store = _Faulty(tmp_path / "c.db")
    cache = _Announcing(store, clock=lambda: NOW)
    cache.flushing = {"x": threading.Event(), "y": threading.Event()}
    in_first, release = threading.Event(), threading.Event()
    batches: list[int] = []

    def before_apply(changes: Sequence[Change]) -> None:
        batches.append(len(changes))
        if len(batches) == 1:  # c's write holds the store's turn while x and y write
            in_first.set()
            release.wait(10)
        elif len(batches) == 2:
            raise injected("injected: disk full")

    store.before_apply = before_apply
    outcome: dict[str, str] = {}

    def write(uid: str) -> None:
        try:
            _sign_in(cache, uid)
            outcome[uid] = "returned"
        except StoreError:
            outcome[uid] = "raised"
        except _Interrupt:
            outcome[uid] = "interrupted"

    threads = {uid: threading.Thread(target=write, args=(uid,), name=uid) for uid in "cxy"}
    threads["c"].start()
    assert in_first.wait(10)
    threads["x"].start()
    threads["y"].start()
    assert cache.flushing["x"].wait(10) and cache.flushing["y"].wait(10)
    release.set()
    for thread in threads.values():
        thread.join(10)
    assert len(batches) == 2  # x's and y's sign-ins went in one batch, which failed
    assert outcome["c"] == "returned"
    # the thread that wrote the batch gets its own interrupt, the other a StoreError
    expected = ["raised", "raised"] if injected is StoreError else ["interrupted", "raised"]
    assert sorted([outcome["x"], outcome["y"]]) == expected
    fresh = PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=lambda: NOW)
    assert _rts(fresh, "c") == ["rt-c"] and _rts(fresh, "x") == _rts(fresh, "y") == []


# -- a call returns once its change is in the store -----------------------------------


class _PausingLock:
    """A re-entrant lock: when thread "B" first releases it fully, B waits for
    ``resume``; then ``b_moved`` is set when B acquires it again."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._b_holds = 0
        self.released, self.resume, self.b_moved = (threading.Event() for _ in range(3))

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if threading.current_thread().name == "B":
            if self.released.is_set():
                self.b_moved.set()
            self._b_holds += 1
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()
        if threading.current_thread().name == "B":
            self._b_holds -= 1
            if not self._b_holds and not self.released.is_set():
                self.released.set()
                self.resume.wait(10)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _at_entry(uid: str) -> dict[str, Any]:
    return {
        "credential_type": "AccessToken",
        "secret": "s",
        "home_account_id": f"{uid}.tid",
        "environment": ENV,
        "client_id": "client",
        "target": "User.Read",
        "realm": "tid",
        "cached_at": str(NOW),
        "expires_on": str(NOW + 3600),
    }


@pytest.mark.parametrize("call", ["modify", "add"])
def test_a_write_returns_once_its_change_is_in_the_store(tmp_path: Path, call: str) -> None:
    store = _Faulty(tmp_path / "c.db")
    cache = PersistentTokenCache(store, clock=lambda: NOW)
    lock = cache._lock = _PausingLock()  # type: ignore[assignment]
    landed: list[bool] = []

    def write() -> None:
        if call == "modify":
            cache.modify("AccessToken", _at_entry("b"), _at_entry("b"))
        else:
            _sign_in(cache, "b")
        landed.append(bool(store.applied))
        lock.b_moved.set()

    writer = threading.Thread(target=write, name="B")
    writer.start()
    assert lock.released.wait(10)  # B's change is in memory, the cache lock free
    with cache._writing():  # another thread's write call holds the lock meanwhile
        lock.resume.set()
        assert lock.b_moved.wait(10)  # B returned, or waits for the lock to flush
    writer.join(10)
    assert landed == [True]
