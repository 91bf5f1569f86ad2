"""An async application keeps its store's I/O off the event loop: an L1 hit never
touches the store, a store read or write runs in a worker thread, and a Redis that
hangs does not stall the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.stores._apps import SCOPE, async_cca, cca
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import user_event

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import Change
from tokensmith.stores import PersistentTokenCache, RedisStore, SqliteStore
from tokensmith.stores.base import Row

CLIENT = "web-app"


class _Watched:
    """An entry store that notes which thread made each call (and delegates)."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.calls: list[tuple[str, int]] = []

    def _note(self, name: str) -> None:
        self.calls.append((name, threading.get_ident()))

    def apply(self, changes: Sequence[Change]) -> None:
        self._note("apply")
        self.store.apply(changes)

    def read(self, partition: str, *, username: str | None = None) -> list[Row]:
        self._note("read")
        return self.store.read(partition, username=username)

    def read_prefix(self, prefix: str) -> list[Row]:
        self._note("read_prefix")
        return self.store.read_prefix(prefix)

    def read_all(self) -> dict[str, Any]:
        self._note("read_all")
        return self.store.read_all()

    def replace_all(self, state: Mapping[str, Any]) -> None:
        self._note("replace_all")
        self.store.replace_all(state)

    def version(self) -> object | None:
        self._note("version")
        return self.store.version()

    def close(self) -> None:
        self.store.close()


def test_store_io_of_an_async_app_runs_off_the_loop(tmp_path: Path) -> None:
    clock = FakeClock()
    entra = FakeEntra(clock)
    path = tmp_path / "cache.db"
    sync_cache = PersistentTokenCache(SqliteStore(path), clock=clock)
    assert cca(entra, clock, sync_cache).acquire_token_for_client(SCOPE)["token_source"] == (
        "identity_provider"
    )
    sync_cache.add(user_event(uid="u1", utid="tid", client_id=CLIENT), now=clock())
    watched = _Watched(SqliteStore(path))
    app = async_cca(entra, clock, PersistentTokenCache(watched, clock=clock))

    async def calls() -> tuple[int, dict[str, int]]:
        loop_thread = threading.get_ident()
        counts: dict[str, int] = {}
        first = await app.acquire_token_for_client(SCOPE)  # L1 miss: read from the store
        assert first["token_source"] == "cache"
        counts["after first"] = len(watched.calls)
        again = await app.acquire_token_for_client(SCOPE)  # L1 hit: the store is not asked
        assert again["token_source"] == "cache"
        counts["after hit"] = len(watched.calls)
        other = await app.acquire_token_for_client(["https://vault.azure.net/.default"])
        assert other["token_source"] == "identity_provider"  # fetched, then written
        counts["applies"] = sum(name == "apply" for name, _ in watched.calls)
        (account,) = await app.get_accounts()
        assert account["home_account_id"] == "u1.tid"
        assert (await app.get_accounts()) == [account]
        await app.remove_account(account)
        assert await app.get_accounts() == []
        return loop_thread, counts

    loop_thread, counts = asyncio.run(calls())
    assert counts["after first"] > 0
    assert counts["after hit"] == counts["after first"]
    assert counts["applies"] >= 1
    on_loop = [name for name, thread in watched.calls if thread == loop_thread]
    assert on_loop == [], on_loop
    assert entra.tokens_posted() == 2
    fresh = PersistentTokenCache(SqliteStore(path), clock=clock)  # what the store holds now
    assert fresh.find_accounts() == []
    assert cca(entra, clock, fresh).acquire_token_for_client(["https://vault.azure.net/.default"])[
        "token_source"
    ] == ("cache")


def test_a_hung_redis_does_not_stall_the_loop(redis_client: Any, redis_url: str) -> None:
    import redis

    clock = FakeClock()
    entra = FakeEntra(clock)
    first = cca(entra, clock, PersistentTokenCache(RedisStore(url=redis_url), clock=clock))
    assert first.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    real = redis.Redis.from_url(redis_url, socket_timeout=0.5)
    reads: list[tuple[int, float, float]] = []

    class Watched:  # notes the thread and the span of each partition read
        def hgetall(self, name: str) -> Any:
            began = time.monotonic()
            try:
                return real.hgetall(name)
            finally:
                reads.append((threading.get_ident(), began, time.monotonic()))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    app = async_cca(entra, clock, PersistentTokenCache(RedisStore(Watched()), clock=clock))

    async def during_a_pause() -> tuple[dict[str, Any], list[float], int]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.01)
                ticks.append(time.monotonic())

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        redis_client.client_pause(3000)  # the server answers no one for 3 s
        result = await app.acquire_token_for_client(SCOPE)  # read: a 0.5 s socket timeout
        stop.set()
        await ticking
        return result, ticks, threading.get_ident()

    result, ticks, loop_thread = asyncio.run(during_a_pause())
    redis_client.ping()  # answered once the pause is over
    assert result["token_source"] == "identity_provider"  # Redis said nothing: the network
    ((thread, began, ended),) = reads
    assert thread != loop_thread  # the read ran in a worker thread...
    assert sum(began < t < ended for t in ticks) >= 3  # ...while the loop went on


def test_coroutines_asking_at_once_through_a_store_send_one_request(tmp_path: Path) -> None:
    clock = FakeClock()
    entra = FakeEntra(clock)
    app = async_cca(entra, clock, PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=clock))

    async def fifty() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(app.acquire_token_for_client(SCOPE) for _ in range(50))))

    results = asyncio.run(fifty())
    assert {r["access_token"] for r in results} == {"at-1"}
    assert entra.tokens_posted() == 1  # one leader, off the loop; the others shared it
    fresh = PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=clock)
    assert cca(entra, clock, fresh).acquire_token_for_client(SCOPE)["token_source"] == "cache"


def test_a_warning_names_the_callers_line_once(tmp_path: Path) -> None:
    import warnings

    import tokensmith
    import tokensmith.aio

    clock = FakeClock()
    entra = FakeEntra(clock)
    common = "https://login.microsoftonline.com/common"
    store_backed = PersistentTokenCache(SqliteStore(tmp_path / "c.db"), clock=clock)
    apps = {
        "sync": tokensmith.ConfidentialClientApplication(
            CLIENT, "s3cret", authority=common, transport=entra.transport, clock=clock
        ),
        "async": tokensmith.aio.ConfidentialClientApplication(
            CLIENT, "s3cret", authority=common, transport=entra.transport, clock=clock
        ),
        "async, store": tokensmith.aio.ConfidentialClientApplication(
            CLIENT,
            "s3cret",
            authority=common,
            transport=entra.transport,
            clock=clock,
            token_cache=store_backed,
        ),
    }

    async def awaited(app: Any) -> Any:
        return await app.acquire_token_for_client(SCOPE)  # the application's line

    for name, app in apps.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if name == "sync":
                app.acquire_token_for_client(SCOPE)
            else:
                asyncio.run(awaited(app))
        found = [w for w in caught if issubclass(w.category, DeprecationWarning)]
        assert len(found) == 1, (name, [str(w.message) for w in found])
        assert found[0].filename == __file__, (name, found[0].filename)


class _WatchedSnapshot:
    """A snapshot store that notes which thread loads and saves (and delegates)."""

    snapshot = True

    def __init__(self, store: Any) -> None:
        self.store = store
        self.calls: list[tuple[str, int]] = []

    def load(self) -> tuple[object | None, dict[str, Any] | None]:
        self.calls.append(("load", threading.get_ident()))
        result: tuple[object | None, dict[str, Any] | None] = self.store.load()
        return result

    def version(self) -> object | None:  # a stat: allowed on the loop
        return self.store.version()

    def apply(self, changes: Sequence[Change]) -> tuple[object | None, object | None]:
        self.calls.append(("apply", threading.get_ident()))
        result: tuple[object | None, object | None] = self.store.apply(changes)
        return result

    def replace_all(self, state: Mapping[str, Any]) -> tuple[object | None, object | None]:
        self.calls.append(("replace_all", threading.get_ident()))
        result: tuple[object | None, object | None] = self.store.replace_all(state)
        return result

    def close(self) -> None:
        self.store.close()


def test_a_file_store_loads_and_saves_off_the_loop(tmp_path: Path) -> None:
    from tokensmith.stores import FileStore

    clock = FakeClock()
    entra = FakeEntra(clock)
    path = tmp_path / "cache.json"
    sync_cache = PersistentTokenCache(FileStore(path), clock=clock)
    sync_cache.add(user_event(uid="u1", utid="tid", client_id=CLIENT), now=clock())
    watched = _WatchedSnapshot(FileStore(path))
    app = async_cca(entra, clock, PersistentTokenCache(watched, clock=clock))

    async def calls() -> int:
        (account,) = await app.get_accounts()  # the first load
        assert (await app.acquire_token_for_client(SCOPE))["token_source"] == "identity_provider"
        loads = sum(name == "load" for name, _ in watched.calls)
        assert (await app.acquire_token_for_client(SCOPE))["token_source"] == "cache"
        assert sum(name == "load" for name, _ in watched.calls) == loads  # unchanged file
        await app.remove_account(account)
        return threading.get_ident()

    loop_thread = asyncio.run(calls())
    names = [name for name, _ in watched.calls]
    assert "load" in names and "apply" in names
    assert [name for name, thread in watched.calls if thread == loop_thread] == []
    assert PersistentTokenCache(FileStore(path), clock=clock).find_accounts() == []
