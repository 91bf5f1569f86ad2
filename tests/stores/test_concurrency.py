"""The persistent cache under concurrency: lock order, the bound while reads and
writes overlap, forked children, a cancelled Redis leader."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, user_event, user_token

from tokensmith.stores import PersistentTokenCache, SqliteStore
from tokensmith.stores.redis_flight import RedisSingleFlight


def _users(path: Path, count: int) -> None:
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    for n in range(count):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    writer.close()


class _Snapshot:
    """A snapshot store another process has just written (version 2), whose reads by
    thread "A" pause inside a sign-out until thread "B" is in its own reload."""

    snapshot = True

    def __init__(self) -> None:
        self.version_now = 1
        self.a_in_sign_out = threading.Event()
        self.b_reloading = threading.Event()
        self.a_calls = 0

    def version(self) -> object:
        if threading.current_thread().name == "A":
            self.a_calls += 1
            if self.a_calls == 2:  # inside the sign-out's own work
                self.a_in_sign_out.set()
                self.b_reloading.wait(1)
            return 1 if self.a_calls == 1 else 2
        return self.version_now

    def load(self) -> tuple[object, dict[str, Any]]:
        if threading.current_thread().name == "B":
            self.b_reloading.set()
        return self.version_now, {}

    def apply(self, changes: Any) -> tuple[object, object]:
        return self.version_now, self.version_now

    def replace_all(self, state: Any) -> tuple[object, object]:
        return self.version_now, self.version_now

    def close(self) -> None:
        pass


def test_a_sign_out_and_a_reload_at_once_do_not_deadlock() -> None:
    store = _Snapshot()
    cache = PersistentTokenCache(store)
    cache._sync()  # memory holds version 1
    store.version_now = 2  # another process writes

    def sign_out() -> None:
        cache.forget_account(home_account_id="u.t", environments=[ENV], client_id=CLIENT_ID)

    def look_up() -> None:
        store.a_in_sign_out.wait(1)
        user_token(cache, "u")

    a = threading.Thread(target=sign_out, name="A", daemon=True)
    b = threading.Thread(target=look_up, name="B", daemon=True)
    a.start()
    b.start()
    a.join(10)
    b.join(10)
    assert not a.is_alive() and not b.is_alive()  # (the lock order used to deadlock them)


def test_a_bounded_sign_out_removes_the_account_from_the_store(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _users(path, 12)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=10)
    cache.forget_account(home_account_id="u3.tid", environments=[ENV], client_id=CLIENT_ID)
    fresh = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    assert fresh.find_refresh_tokens(home_account_id="u3.tid", environments=[ENV]) == []
    assert [a for a in fresh.find_accounts() if a["home_account_id"] == "u3.tid"] == []
    assert user_token(fresh, "u4") is not None


def test_after_an_export_a_bounded_cache_reads_what_it_evicted(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _users(path, 3)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=10)
    cache.serialize()  # the whole store in memory
    for n in range(3, 9):  # more sign-ins: over the bound, partitions evicted
        cache.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    assert [n for n in range(9) if user_token(cache, f"u{n}") is None] == []


def test_a_read_in_flight_keeps_what_this_process_writes_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _users(path, 2)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    store: Any = cache.store
    fetched, go = threading.Event(), threading.Event()
    real_read = store.read

    def read(name: str, *, username: str | None = None) -> Any:
        rows = real_read(name, username=username)
        if threading.current_thread().name == "reader":
            fetched.set()
            go.wait(5)  # the rows are read; this process writes before they land
        return rows

    store.read = read
    reader = threading.Thread(target=lambda: user_token(cache, "u1"), name="reader")
    reader.start()
    assert fetched.wait(10)
    again = user_event(uid="u1", utid="tid", scope=["Mail.Read"], secret_suffix="-new")
    adder = threading.Thread(target=lambda: cache.add(again, now=NOW))
    adder.start()  # its memory write lands now; its store write waits for the read
    waited = time.monotonic() + 10
    while not cache._pending and time.monotonic() < waited:
        time.sleep(0.005)
    go.set()
    reader.join(10)
    adder.join(10)
    assert user_token(cache, "u1", ["Mail.Read"]) is not None
    secrets = sorted(
        r["secret"] for r in cache.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV])
    )
    stored = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    assert secrets == sorted(
        r["secret"]
        for r in stored.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV])
    )


def test_a_forked_child_has_store_threads_of_its_own() -> None:
    script = """
import asyncio, os, sys, time
from tokensmith.drivers.asyncio import off_loop
async def once():
    return await asyncio.wait_for(off_loop(os.getpid), 5)
assert asyncio.run(once()) == os.getpid()
time.sleep(0.1)
pid = os.fork()
if pid == 0:
    try:
        ok = asyncio.run(once()) == os.getpid()
    except BaseException:
        ok = False
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True)
    assert done.returncode == 0, done.stderr[-500:]


def test_a_cancelled_redis_leader_releases_the_lock_it_was_taking() -> None:
    class Client:
        def __init__(self) -> None:
            self.keys: dict[str, str] = {}

        def set(self, name: str, token: str, nx: bool, px: int) -> bool | None:
            time.sleep(0.3)  # a slow round trip
            if name in self.keys:
                return None
            self.keys[name] = token
            return True

        def eval(self, script: str, n: int, name: str, token: str) -> int:
            if self.keys.get(name) == token:
                del self.keys[name]
                return 1
            return 0

    class Store:
        prefix = "t:"

        def __init__(self) -> None:
            self.client = Client()

        def attempt(self, what: str, command: Any, fallback: Any) -> Any:
            return command()

    store = Store()
    flight = RedisSingleFlight(store)

    async def main() -> None:
        async def fetch() -> int:
            return 1

        task = asyncio.ensure_future(flight.run_async("k", fetch))
        await asyncio.sleep(0.05)  # the SET NX is in flight
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    waited = time.monotonic() + 5
    while store.client.keys and time.monotonic() < waited:  # released once it lands
        time.sleep(0.01)
    assert store.client.keys == {}  # taken after the cancel, then released


def _held_in_apply(cache: PersistentTokenCache, thread_name: str) -> tuple[Any, Any]:
    """Make the store's writes from ``thread_name`` wait (inside the store write) until
    released; the store also loses its versions, so every stale check reads (Redis)."""
    store: Any = cache.store
    in_apply, release = threading.Event(), threading.Event()
    real_apply = store.apply

    def apply(changes: Any) -> Any:
        if threading.current_thread().name == thread_name:
            in_apply.set()
            release.wait(10)
        return real_apply(changes)

    store.apply = apply
    store.version = lambda: None
    return in_apply, release


def _read_while_writing(cache: PersistentTokenCache, write: Any) -> None:
    in_apply, release = _held_in_apply(cache, "writer")
    writer = threading.Thread(target=write, name="writer")
    writer.start()
    assert in_apply.wait(10)  # memory changed; the store write has not landed
    reader = threading.Thread(
        target=lambda: cache.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV])
    )
    reader.start()  # reads the user's partition (it waits for the write to land)
    time.sleep(0.05)
    release.set()
    writer.join(10)
    reader.join(10)
    assert not writer.is_alive() and not reader.is_alive()


def test_a_removal_in_flight_is_not_undone_by_a_read(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _users(path, 2)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    at = user_token(cache, "u1")
    assert at is not None
    _read_while_writing(cache, lambda: cache.remove_at(at))
    assert user_token(cache, "u1") is None  # not back in memory
    assert user_token(PersistentTokenCache(SqliteStore(path), clock=lambda: NOW), "u1") is None


def test_a_rotation_in_flight_is_not_undone_by_a_read(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _users(path, 2)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    (rt,) = cache.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV])
    _read_while_writing(cache, lambda: cache.update_rt(rt, "rt-rotated"))
    in_memory = [  # what memory holds (a lookup would read the store again)
        entry["secret"]
        for entry in cache._cache.get("RefreshToken", {}).values()
        if entry.get("home_account_id") == "u1.tid"
    ]
    assert in_memory == ["rt-rotated"]


def test_a_bounded_export_holds_the_whole_store_while_others_write(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import json

    from tokensmith.cache import SerializableTokenCache

    path = tmp_path / "c.db"
    _users(path, 6)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=10)
    dumping, go = threading.Event(), threading.Event()
    real_serialize = SerializableTokenCache.serialize

    def serialize(self: Any) -> str:  # memory holds the whole store, about to be dumped
        if threading.current_thread().name == "exporter":
            dumping.set()
            go.wait(10)  # another thread signs a user in meanwhile
        return real_serialize(self)

    monkeypatch.setattr(SerializableTokenCache, "serialize", serialize)
    exported: dict[str, str] = {}
    exporter = threading.Thread(
        target=lambda: exported.setdefault("doc", cache.serialize()), name="exporter"
    )
    exporter.start()
    assert dumping.wait(10)
    signer = threading.Thread(
        target=lambda: cache.add(user_event(uid="new", utid="tid", scope=["User.Read"]), now=NOW)
    )
    signer.start()
    time.sleep(0.05)
    go.set()
    exporter.join(10)
    signer.join(10)
    homes = {rt["home_account_id"] for rt in json.loads(exported["doc"])["RefreshToken"].values()}
    assert {f"u{n}.tid" for n in range(6)} <= homes  # the whole store, despite the bound


def test_a_bounded_search_in_memory_only_mode_defers_and_reads_once(tmp_path: Path) -> None:
    from tokensmith.cache.store_io import MEMORY_ONLY, StoreReadDeferred

    path = tmp_path / "c.db"
    _users(path, 1)
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=100)
    store: Any = cache.store
    reads: list[int] = []
    real_read_all = store.read_all
    store.read_all = lambda: (reads.append(1), real_read_all())[1]
    for call in (lambda: list(cache.search("AccessToken")), cache.serialize):
        token = MEMORY_ONLY.set(True)
        try:
            call()
            raise AssertionError("a store read in memory-only mode")
        except StoreReadDeferred:
            pass
        finally:
            MEMORY_ONLY.reset(token)
    assert reads == []
    for _ in range(3):
        assert list(cache.search("AccessToken"))
    assert len(reads) == 1  # memory holds the store after the first


def test_removing_other_app_tokens_does_not_undo_a_write_in_flight(tmp_path: Path) -> None:
    from tests.unit.cache._helpers import app_event

    cache = PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=lambda: NOW)
    cache.add(app_event(access_token="old"), now=NOW)
    store: Any = cache.store
    in_apply, go = threading.Event(), threading.Event()
    real_apply = store.apply

    def apply(changes: Any) -> Any:
        if threading.current_thread().name == "rotator":
            in_apply.set()
            go.wait(10)
        return real_apply(changes)

    store.apply = apply
    rotator = threading.Thread(
        target=lambda: cache.add(app_event(access_token="new"), now=NOW), name="rotator"
    )
    rotator.start()
    assert in_apply.wait(10)
    remover = threading.Thread(
        target=lambda: cache.remove_app_tokens(
            client_id=CLIENT_ID, environments=["login.example.other"]
        )
    )
    remover.start()
    time.sleep(0.05)
    go.set()
    rotator.join(10)
    remover.join(10)
    secrets = [e["secret"] for e in cache._cache.get("AccessToken", {}).values()]
    assert secrets == ["new"]


def test_a_bounded_app_token_removal_is_not_lost_to_an_eviction(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from tests.unit.cache._helpers import app_event

    from tokensmith.cache.accounts import AccountLookups
    from tokensmith.stores.read_through import ReadThrough

    path = tmp_path / "c.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    writer.add(app_event(), now=NOW)
    writer.close()
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW, max_entries=4)
    (at,) = list(cache.search("AccessToken"))  # the whole store in memory
    others: list[threading.Thread] = []
    remove = AccountLookups.remove_app_tokens

    def racing(self: Any, **kwargs: Any) -> None:  # others sign in before the removal
        signer = threading.Thread(
            target=lambda: [
                cache.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
                for n in range(3)
            ]
        )
        signer.start()
        others.append(signer)
        signer.join(0.3)  # (the signer's writes wait for the removal's store turn)
        remove(self, **kwargs)

    monkeypatch.setattr(ReadThrough, "remove_app_tokens", racing, raising=False)
    cache.remove_app_tokens(client_id=CLIENT_ID, environments=[at["environment"]])
    for signer in others:
        signer.join(10)
    fresh = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    assert [e for e in fresh.search("AccessToken") if not e.get("home_account_id")] == []
    assert user_token(fresh, "u2") is not None
