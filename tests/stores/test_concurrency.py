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
                self.b_reloading.wait(3)
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
        store.a_in_sign_out.wait(3)
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
    fetched.wait(5)
    again = user_event(uid="u1", utid="tid", scope=["Mail.Read"], secret_suffix="-new")
    cache.add(again, now=NOW)
    go.set()
    reader.join(10)
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
    assert store.client.keys == {}  # taken after the cancel, then released
