"""A review by testing of the persistent caches under concurrency (docs/persistence.md):
sync and async applications sharing a store, a sign-out racing a refresh, a store that
fails on read and on write, the bound while other threads look up, and the MSAL
whole-cache API against msal itself as the oracle.

Real threads, a real event loop, real stores (SQLite, a plain file, a real
``redis-server``); interleavings are forced with events and barriers, never sleeps,
and every loop is bounded.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msal
import pytest
from tests.stores._apps import async_cca, cca
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, app_event, user_event, user_token

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import Change
from tokensmith.cache.sign_out import SignOut
from tokensmith.errors import StoreError
from tokensmith.stores import (
    BoundedTokenCache,
    FileStore,
    PersistentTokenCache,
    RedisStore,
    SqliteStore,
)

SCOPES = ["User.Read"]
API_A = ["api://a/.default"]
API_B = ["api://b/.default"]
WAIT = 10.0  # the longest any event or join is waited for (a hang fails, never stalls)

NewStore = Callable[[], Any]


@pytest.fixture(params=["sqlite", "file", "redis"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewStore]:
    """Makes store objects over one backend (each as another process's would be)."""
    made: list[Any] = []

    def make() -> Any:
        if request.param == "sqlite":
            store: Any = SqliteStore(tmp_path / "cache.db")
        elif request.param == "file":
            store = FileStore(tmp_path / "cache.json")
        else:
            store = RedisStore(request.getfixturevalue("redis_client"))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def _cache_over(store: Any, clock: Callable[[], float], bound: int | None) -> Any:
    """A cache over ``store`` that keeps at most ``bound`` entries in memory where the
    store allows a bound (an entry store; a snapshot store is read whole)."""
    if isinstance(store, FileStore):
        bound = None
    return PersistentTokenCache(store, clock=clock, max_entries=bound)


def _clock() -> FakeClock:
    return FakeClock(int(time.time()))  # now: Redis expires keys by its own clock


def _left_in_store(new_store: NewStore, clock: FakeClock, home: str) -> list[str]:
    """What a fresh process finds of the account ``home``: its entries, by type."""
    fresh = PersistentTokenCache(new_store(), clock=clock)
    state = json.loads(fresh.serialize())
    return sorted(
        f"{section}:{key}"
        for section, entries in state.items()
        if isinstance(entries, dict)
        for key, entry in entries.items()
        if isinstance(entry, dict) and entry.get("home_account_id") == home
    )


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, WAIT))


def _together(*calls: Callable[[], object]) -> list[BaseException]:
    """Run each call in a thread of its own, all released at once (one barrier); the
    exceptions they raised, once every thread has ended."""
    start = threading.Barrier(len(calls), timeout=WAIT)
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait()
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return errors


# -- a) a sync and an async application over one store ------------------------------


def test_sync_and_async_apps_over_one_store_see_each_others_tokens(new_store: NewStore) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    sync_app = cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))
    async_app = async_cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))
    start = threading.Barrier(2, timeout=WAIT)
    got: dict[str, Any] = {}

    def sync_side() -> None:
        start.wait()
        got["app"] = sync_app.acquire_token_for_client(API_A)
        got["user"] = sync_app.acquire_token_by_refresh_token("rt-imported", SCOPES)

    async def main() -> dict[str, Any]:
        thread = threading.Thread(target=sync_side)
        thread.start()
        await asyncio.to_thread(start.wait)  # both sides write at once
        mine = await async_app.acquire_token_for_client(API_B)
        await asyncio.to_thread(thread.join, WAIT)
        assert not thread.is_alive()
        theirs = await async_app.acquire_token_for_client(API_A)
        [account] = await async_app.get_accounts()
        silent = await async_app.acquire_token_silent(SCOPES, account)
        return {"mine": mine, "theirs": theirs, "silent": silent}

    seen = _run(main())
    assert seen["theirs"]["token_source"] == "cache"
    assert seen["theirs"]["access_token"] == got["app"]["access_token"]
    assert seen["silent"]["access_token"] == got["user"]["access_token"]
    back = sync_app.acquire_token_for_client(API_B)
    assert back["token_source"] == "cache"
    assert back["access_token"] == seen["mine"]["access_token"]
    assert entra.tokens_posted() == 3  # each token once: the other side read it


def test_sync_and_async_apps_on_one_cache_object_share_tokens(new_store: NewStore) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    sync_app, async_app = cca(entra, clock, cache), async_cca(entra, clock, cache)
    start = threading.Barrier(2, timeout=WAIT)
    got: dict[str, Any] = {}

    def sync_side() -> None:
        start.wait()
        got["app"] = sync_app.acquire_token_for_client(API_A)

    async def main() -> Any:
        thread = threading.Thread(target=sync_side)
        thread.start()
        await asyncio.to_thread(start.wait)
        mine = await async_app.acquire_token_for_client(API_A)  # the same token, at once
        await asyncio.to_thread(thread.join, WAIT)
        return mine

    mine = _run(main())
    assert mine["access_token"] == got["app"]["access_token"]
    assert entra.tokens_posted("client_credentials") == 1
    other = PersistentTokenCache(new_store(), clock=clock)
    assert cca(entra, clock, other).acquire_token_for_client(API_A)["token_source"] == "cache"


# -- b) a sign-out while a refresh of the same account is in flight -----------------


def _signed_in(entra: FakeEntra, app: Any) -> dict[str, Any]:
    done = app.acquire_token_by_refresh_token("rt-imported", SCOPES)
    assert "access_token" in done, done
    [account] = app.get_accounts()
    return dict(account)


class _HeldRefresh:
    """Holds the next refresh token request on the wire until :meth:`release`."""

    def __init__(self, entra: FakeEntra) -> None:
        self.on_wire, self.go = threading.Event(), threading.Event()
        self._issue = entra.issue
        entra.token_handler = self._handle

    def _handle(self, form: dict[str, str]) -> Any:
        if form.get("grant_type") == "refresh_token" and not self.on_wire.is_set():
            self.on_wire.set()
            assert self.go.wait(WAIT)
        return self._issue(form)

    def release(self) -> None:
        self.go.set()


@pytest.mark.parametrize("bound", [None, 5])
def test_a_sign_out_in_this_process_during_a_refresh_leaves_nothing(
    new_store: NewStore, bound: int | None
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    app = cca(entra, clock, _cache_over(new_store(), clock, bound))
    account = _signed_in(entra, app)
    held = _HeldRefresh(entra)
    result: list[Any] = []
    refresh = threading.Thread(
        target=lambda: result.append(app.acquire_token_silent(SCOPES, account, force_refresh=True))
    )
    refresh.start()
    assert held.on_wire.wait(WAIT)
    app.remove_account(account)  # while the refresh is on the wire
    held.release()
    refresh.join(WAIT)
    assert not refresh.is_alive()
    assert result and result[0] and "access_token" in result[0]  # the caller's token
    assert app.get_accounts() == []
    assert _left_in_store(new_store, clock, account["home_account_id"]) == []


def test_a_sync_sign_out_during_an_async_refresh_on_one_cache(new_store: NewStore) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    sync_app, async_app = cca(entra, clock, cache), async_cca(entra, clock, cache)
    account = _signed_in(entra, sync_app)
    held = _HeldRefresh(entra)

    def sign_out() -> None:
        assert held.on_wire.wait(WAIT)
        sync_app.remove_account(account)
        held.release()

    async def main() -> Any:
        remover = threading.Thread(target=sign_out)
        remover.start()
        result = await async_app.acquire_token_silent(SCOPES, account, force_refresh=True)
        await asyncio.to_thread(remover.join, WAIT)
        return result

    result = _run(main())
    assert result and "access_token" in result
    assert _left_in_store(new_store, clock, account["home_account_id"]) == []


@pytest.mark.parametrize("bound", [None, 5])
def test_a_sign_out_racing_refreshes_leaves_nothing(new_store: NewStore, bound: int | None) -> None:
    # No forced order: the sign-out lands anywhere in the refresh (before it, during it,
    # between its write-back's two batches, after it). Whatever the order, the account
    # is gone from the store afterwards.
    clock = _clock()
    entra = FakeEntra(clock)
    app = cca(entra, clock, _cache_over(new_store(), clock, bound))
    for _ in range(15):
        account = _signed_in(entra, app)
        errors = _together(
            lambda: app.acquire_token_silent(SCOPES, account, force_refresh=True),  # noqa: B023
            lambda: app.remove_account(account),  # noqa: B023
        )
        assert not errors, errors
        assert _left_in_store(new_store, clock, account["home_account_id"]) == []


# -- c) a store that fails on read and on write-back --------------------------------


class _Breakable:
    """Mixed into a store: while ``broken`` holds an operation's name ("read",
    "write"), that operation raises as a full or unreadable disk would."""

    broken: frozenset[str] = frozenset()

    def _check(self, operation: str) -> None:
        if operation in self.broken:
            raise StoreError(f"injected: the store cannot {operation}")


class _BreakableSqlite(_Breakable, SqliteStore):
    def apply(self, changes: Sequence[Change]) -> object:
        self._check("write")
        return super().apply(changes)

    def apply_sign_out(self, changes: Sequence[Change], sign_out: SignOut) -> tuple[object, object]:
        self._check("write")  # (a sign-out's batch: SignOutWriter)
        return super().apply_sign_out(changes, sign_out)

    def read(self, partition: str, *, username: str | None = None) -> Any:
        self._check("read")
        return super().read(partition, username=username)

    def read_prefix(self, prefix: str) -> Any:
        self._check("read")
        return super().read_prefix(prefix)

    def read_all(self) -> Any:
        self._check("read")
        return super().read_all()


class _BreakableFile(_Breakable, FileStore):
    def apply(self, changes: Sequence[Change]) -> tuple[object | None, object | None]:
        self._check("write")
        return super().apply(changes)

    def load(self) -> tuple[object | None, dict[str, Any] | None]:
        self._check("read")
        return super().load()


@pytest.fixture(params=["sqlite", "file"])
def breakable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Makes breakable stores over one file (Redis never raises: it logs)."""
    made: list[Any] = []

    def make() -> Any:
        if request.param == "sqlite":
            store: Any = _BreakableSqlite(tmp_path / "cache.db")
        else:
            store = _BreakableFile(tmp_path / "cache.json")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def _while_broken(store: Any, operation: str, *calls: Callable[[], object]) -> None:
    """Each call raises the store's error while ``operation`` fails; then the store
    recovers."""
    store.broken = frozenset({operation})
    try:
        for call in calls:
            with pytest.raises(StoreError, match="injected"):
                call()
    finally:
        store.broken = frozenset()


def _after_a_failed_write(store: Any) -> str:
    """Where a token whose write failed comes from next: memory (an entry store reads
    the partition again on a miss only), or the network (a file is read again)."""
    return "identity_provider" if isinstance(store, FileStore) else "cache"


def _consistent(cache: PersistentTokenCache) -> None:
    """Memory is whole: nothing left pending, and it serializes to MSAL's JSON that
    msal itself loads."""
    assert cache._pending == []
    oracle = msal.SerializableTokenCache()
    oracle.deserialize(cache.serialize())


def test_a_failed_write_back_raises_and_the_next_call_works(
    breakable: Callable[[], Any],
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    store = breakable()
    cache = PersistentTokenCache(store, clock=clock)
    app = cca(entra, clock, cache)
    _while_broken(
        store,
        "write",
        lambda: app.acquire_token_for_client(API_A),
        lambda: app.acquire_token_by_refresh_token("rt-imported", SCOPES),
    )
    # what the failed writes carried stays in memory until memory reads the store
    # again (an entry store: on a miss there; a file: at once), the source of truth;
    # the next calls work, and land
    again = app.acquire_token_for_client(API_A)
    assert again["token_source"] == _after_a_failed_write(store)
    assert "access_token" in app.acquire_token_by_refresh_token("rt-imported", SCOPES)
    [account] = app.get_accounts()
    silent = app.acquire_token_silent(SCOPES, account)
    assert silent and silent["token_source"] == "cache"
    _consistent(cache)
    fetched = app.acquire_token_for_client(API_B)  # a write that lands
    other = cca(entra, clock, PersistentTokenCache(breakable(), clock=clock))
    assert other.acquire_token_for_client(API_B)["access_token"] == fetched["access_token"]


def test_a_failed_read_raises_and_the_next_call_reads(breakable: Callable[[], Any]) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    writer = cca(entra, clock, PersistentTokenCache(breakable(), clock=clock))
    written = writer.acquire_token_for_client(API_A)
    user = writer.acquire_token_by_refresh_token("rt-imported", SCOPES)
    store = breakable()
    cache = PersistentTokenCache(store, clock=clock)
    app = cca(entra, clock, cache)
    _while_broken(store, "read", lambda: app.acquire_token_for_client(API_A), app.get_accounts)
    assert app.acquire_token_for_client(API_A)["access_token"] == written["access_token"]
    [account] = app.get_accounts()
    silent = app.acquire_token_silent(SCOPES, account)
    assert silent and silent["access_token"] == user["access_token"]
    _consistent(cache)
    assert entra.tokens_posted() == 2  # nothing went to the network for the failures


def test_an_async_app_gets_the_store_error_and_recovers(breakable: Callable[[], Any]) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    store = breakable()
    cache = PersistentTokenCache(store, clock=clock)
    app = async_cca(entra, clock, cache)

    async def main() -> None:
        store.broken = frozenset({"write"})
        with pytest.raises(StoreError, match="injected"):
            await app.acquire_token_for_client(API_A)
        store.broken = frozenset()
        again = await app.acquire_token_for_client(API_A)
        assert again["token_source"] == _after_a_failed_write(store)
        fresh_store = breakable()
        fresh = async_cca(entra, clock, PersistentTokenCache(fresh_store, clock=clock))
        fresh_store.broken = frozenset({"read"})
        with pytest.raises(StoreError, match="injected"):
            await fresh.acquire_token_for_client(API_B)
        fresh_store.broken = frozenset()
        assert (await fresh.acquire_token_for_client(API_B))["token_source"] == (
            "identity_provider"
        )

    _run(main())
    _consistent(cache)


def test_a_write_failing_while_other_threads_read_corrupts_nothing(
    breakable: Callable[[], Any],
) -> None:
    clock = _clock()
    store = breakable()
    cache = PersistentTokenCache(store, clock=clock)
    for n in range(4):
        cache.add(user_event(uid=f"u{n}", utid="tid", scope=SCOPES), now=NOW)
    store.broken = frozenset({"write"})
    failures: list[str] = []
    misses: list[str] = []

    def write(n: int) -> None:
        for round_ in range(20):
            try:
                cache.add(user_event(uid=f"w{n}-{round_}", utid="tid", scope=SCOPES), now=NOW)
            except StoreError:
                failures.append(f"w{n}-{round_}")

    def read() -> None:
        for round_ in range(40):
            if user_token(cache, f"u{round_ % 4}") is None:
                misses.append(f"u{round_ % 4}")

    assert _together(lambda: write(0), lambda: write(1), read, read) == []
    assert len(failures) == 40 and misses == []  # every write call learnt its failure
    store.broken = frozenset()
    cache.add(user_event(uid="after", utid="tid", scope=SCOPES), now=NOW)
    _consistent(cache)
    fresh = PersistentTokenCache(breakable(), clock=clock)
    assert user_token(fresh, "after") is not None and user_token(fresh, "w0-0") is None


# -- d) the bound while other threads look up ---------------------------------------


def _memory_entries(cache: Any) -> int:
    counted = ("AccessToken", "RefreshToken", "IdToken", "Account")
    return sum(len(cache._section(section)) for section in counted)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_eviction_while_other_threads_look_up(kind: str, tmp_path: Path, request: Any) -> None:
    def make() -> Any:
        if kind == "sqlite":
            return SqliteStore(tmp_path / "c.db")
        return RedisStore(request.getfixturevalue("redis_client"))

    clock = FakeClock(int(time.time()))
    now = clock()
    writer = PersistentTokenCache(make(), clock=clock)
    for n in range(40):
        writer.add(user_event(uid=f"u{n}", utid="tid", scope=SCOPES), now=now)
    bound = 20
    cache = PersistentTokenCache(make(), clock=clock, max_entries=bound)
    misses: list[str] = []

    def look_up(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(150):
            uid = f"u{rng.randrange(40)}"
            if user_token(cache, uid, now=now) is None:
                misses.append(uid)

    def sign_in(n: int) -> None:
        for round_ in range(30):
            cache.add(user_event(uid=f"new{n}-{round_}", utid="tid", scope=SCOPES), now=now)

    lookups = [lambda seed=seed: look_up(seed) for seed in range(4)]
    errors = _together(*lookups, lambda: sign_in(0), lambda: sign_in(1))
    assert not errors and misses == []  # every user is in the store: none missed
    lru = cache._lru
    assert lru is not None and lru._pins == {}
    assert lru.size <= bound and _memory_entries(cache) <= bound
    assert user_token(cache, "new1-29", now=now) is not None  # written: in the store


def test_a_bounded_memory_cache_under_threads_keeps_its_bound() -> None:
    bound = 30
    cache = BoundedTokenCache(bound, clock=lambda: NOW)

    def sign_in(n: int) -> None:
        for round_ in range(60):
            cache.add(user_event(uid=f"u{n}-{round_}", utid="tid", scope=SCOPES), now=NOW)
            cache.add(app_event(f"api://{n}-{round_}/.default", tenant="t"), now=NOW)

    def look_up(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(200):
            user_token(cache, f"u{rng.randrange(3)}-{rng.randrange(60)}")
            cache.find_accounts()

    writers = [lambda n=n: sign_in(n) for n in range(3)]
    readers = [lambda seed=seed: look_up(seed) for seed in range(3)]
    assert _together(*writers, *readers) == []
    assert cache._lru.size <= bound and _memory_entries(cache) <= bound
    cache.add(user_event(uid="last", utid="tid", scope=SCOPES), now=NOW)
    assert user_token(cache, "last") is not None  # the partition just written is kept


# -- e) MSAL's whole-cache API, against msal itself ---------------------------------

LIVE = int(time.time())
"""The time of the operations below (Redis expires its keys by its own clock)."""


def _same_ops(cache: Any) -> None:
    """One sequence of MSAL cache calls: sign-ins, an app token, a rotation, removals."""
    cache.add(user_event(uid="u1", utid="tid"), now=LIVE)
    cache.add(user_event(uid="u2", utid="tid", scope=["Mail.Read"]), now=LIVE)
    cache.add(app_event(), now=LIVE)
    [rt] = cache.search("RefreshToken", query={"home_account_id": "u1.tid"})
    cache.update_rt(rt, "rt-u1-rotated")
    [at] = cache.search("AccessToken", query={"home_account_id": "u2.tid"}, now=LIVE)
    cache.remove_at(at)
    [idt] = cache.search("IdToken", query={"home_account_id": "u2.tid"})
    cache.remove_idt(idt)
    [app_at] = cache.search(
        "AccessToken", query={"client_id": CLIENT_ID, "realm": "contoso.example"}, now=LIVE
    )
    cache.modify("AccessToken", app_at, {"secret": "app-at-renewed"})
    [account] = cache.search("Account", query={"home_account_id": "u2.tid"})
    cache.remove_account(account)


def _without_times(state: dict[str, Any]) -> dict[str, Any]:
    """``last_modification_time`` is the clock of the rotation: msal's own."""
    for entry in state.get("RefreshToken", {}).values():
        entry.pop("last_modification_time", None)
    return state


def test_serialize_matches_msal_for_the_same_operations(new_store: NewStore) -> None:
    oracle = msal.SerializableTokenCache()
    _same_ops(oracle)
    cache = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    _same_ops(cache)
    expected = _without_times(json.loads(oracle.serialize()))
    assert _without_times(json.loads(cache.serialize())) == expected
    fresh = PersistentTokenCache(new_store(), clock=lambda: LIVE)  # another process
    assert _without_times(json.loads(fresh.serialize())) == expected


def test_deserialize_matches_msal_and_reaches_the_store(new_store: NewStore) -> None:
    source = msal.SerializableTokenCache()
    _same_ops(source)
    text = source.serialize()
    cache = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    cache.add(user_event(uid="gone", utid="tid"), now=LIVE)  # replaced by the import
    cache.deserialize(text)
    oracle = msal.SerializableTokenCache()
    oracle.deserialize(text)
    assert json.loads(cache.serialize()) == json.loads(oracle.serialize())
    for section in ("AccessToken", "RefreshToken", "IdToken", "Account"):
        mine = sorted(json.dumps(e, sort_keys=True) for e in cache.search(section, now=LIVE))
        theirs = sorted(json.dumps(e, sort_keys=True) for e in oracle.search(section, now=LIVE))
        assert mine == theirs, section
    fresh = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    assert json.loads(fresh.serialize()) == json.loads(oracle.serialize())


def test_has_state_changed_is_documented_false_and_nothing_is_lost(new_store: NewStore) -> None:
    # msal sets has_state_changed after each write and clears it in serialize(); a
    # PersistentTokenCache keeps it False (docs/persistence.md): every write is already
    # in the store, so MSAL-style "save if changed" code has nothing to save.
    oracle = msal.SerializableTokenCache()
    cache = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    for target in (oracle, cache):
        target.add(user_event(uid="u1", utid="tid"), now=LIVE)
    assert oracle.has_state_changed is True
    assert cache.has_state_changed is False
    cache.has_state_changed = True  # MSAL's own code sets it; it stays False
    assert cache.has_state_changed is False
    fresh = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    assert json.loads(fresh.serialize()) == json.loads(oracle.serialize())
    cache.deserialize(oracle.serialize())
    assert cache.has_state_changed is False


def test_serialize_while_other_threads_write_is_always_a_whole_msal_cache(
    new_store: NewStore,
) -> None:
    cache = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    snapshots: list[str] = []

    def write(n: int) -> None:
        for round_ in range(15):
            cache.add(user_event(uid=f"u{n}-{round_}", utid="tid"), now=LIVE)

    def export() -> None:
        for _ in range(15):
            snapshots.append(cache.serialize())

    assert _together(lambda: write(0), lambda: write(1), export) == []
    for text in snapshots:  # each a cache msal loads, each sign-in whole or absent
        oracle = msal.SerializableTokenCache()
        oracle.deserialize(text)
        homes = {
            section: {e["home_account_id"] for e in oracle.search(section, now=LIVE)}
            for section in ("RefreshToken", "IdToken", "Account")
        }
        assert homes["RefreshToken"] == homes["IdToken"] == homes["Account"]
    final = msal.SerializableTokenCache()
    for n in range(2):
        for round_ in range(15):
            final.add(user_event(uid=f"u{n}-{round_}", utid="tid"), now=LIVE)
    assert json.loads(cache.serialize()) == json.loads(final.serialize())


@pytest.mark.parametrize("operation", ["read", "write"])
def test_a_refresh_whose_write_back_fails_raises_and_the_next_works(
    breakable: Callable[[], Any], operation: str
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    store = breakable()
    app = cca(entra, clock, PersistentTokenCache(store, clock=clock))
    account = _signed_in(entra, app)
    other = PersistentTokenCache(breakable(), clock=clock)
    issue = entra.issue

    def break_then_answer(form: dict[str, str]) -> Any:
        # while on the wire: another process writes (the write-back reads first), and
        # this process's store fails
        other.add(user_event(uid="x", utid="tid"), now=clock())
        store.broken = frozenset({operation})
        return issue(form)

    entra.token_handler = break_then_answer
    with pytest.raises(StoreError, match="injected"):
        app.acquire_token_silent(SCOPES, account, force_refresh=True)
    store.broken = frozenset()
    entra.token_handler = issue
    again = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert again and "access_token" in again
    _consistent(app.token_cache)
    fresh = cca(entra, clock, PersistentTokenCache(breakable(), clock=clock))
    [mine] = [a for a in fresh.get_accounts() if a["home_account_id"] == account["home_account_id"]]
    assert fresh.acquire_token_silent(SCOPES, mine)["access_token"] == again["access_token"]


def test_a_sign_out_elsewhere_removes_the_accounts_on_behalf_of_tokens(
    new_store: NewStore,
) -> None:
    # the on-behalf-of tokens are filed under the assertion, not the account: the
    # entry stores find them by the account (SqliteStore's owner index, RedisStore's
    # per-account set) so a sign-out elsewhere removes them, as msal's remove_account
    clock = _clock()
    entra = FakeEntra(clock)
    api = cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))
    other = cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))  # elsewhere
    assertion = "eyJ.incoming-assertion.sig"
    errors = _together(lambda: api.acquire_token_on_behalf_of(assertion, API_A))
    assert errors == []
    [account] = other.get_accounts()
    errors = _together(lambda: other.remove_account(account))
    assert errors == []
    assert _left_in_store(new_store, clock, account["home_account_id"]) == []


@pytest.mark.parametrize("bound", [None, 50])
def test_an_export_after_a_sign_out_elsewhere_holds_what_the_store_holds(
    new_store: NewStore, bound: int | None
) -> None:
    # serialize() and search() read the whole store again (docs: "exports the whole
    # store"); what another process removed meanwhile is gone from them, as a
    # partition read drops it, and as msal-extensions' reload of the file does.
    cache = _cache_over(new_store(), lambda: LIVE, bound)
    for uid in ("u1", "u2"):
        cache.add(user_event(uid=uid, utid="tid"), now=LIVE)
    cache.serialize()  # memory holds the whole store
    other = PersistentTokenCache(new_store(), clock=lambda: LIVE)  # another process
    errors = _together(
        lambda: other.forget_account(
            home_account_id="u1.tid", environments=[ENV], client_id=CLIENT_ID
        ),
        lambda: other.add(user_event(uid="u3", utid="tid"), now=LIVE),
    )
    assert errors == []
    stored = json.loads(PersistentTokenCache(new_store(), clock=lambda: LIVE).serialize())
    assert json.loads(cache.serialize()) == stored
    homes = sorted(rt["home_account_id"] for rt in cache.search("RefreshToken"))
    assert homes == ["u2.tid", "u3.tid"]


@pytest.mark.parametrize("bound", [None, 15])
def test_sign_ins_sign_outs_and_lookups_on_threads_leave_memory_as_the_store(
    new_store: NewStore, bound: int | None
) -> None:
    cache = _cache_over(new_store(), lambda: LIVE, bound)
    for n in range(8):
        cache.add(user_event(uid=f"u{n}", utid="tid"), now=LIVE)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            uid, op = f"u{rng.randrange(8)}", rng.randrange(4)
            if op == 0:
                cache.forget_account(
                    home_account_id=f"{uid}.tid", environments=[ENV], client_id=CLIENT_ID
                )
            elif op == 1:
                cache.add(user_event(uid=uid, utid="tid"), now=LIVE)
            elif op == 2:
                cache.find_accounts()
            else:
                user_token(cache, uid, now=LIVE)

    assert _together(*[lambda seed=seed: work(seed) for seed in range(4)]) == []
    fresh = PersistentTokenCache(new_store(), clock=lambda: LIVE)
    for n in range(8):  # memory answers as the store does
        assert (user_token(cache, f"u{n}", now=LIVE) is None) == (
            user_token(fresh, f"u{n}", now=LIVE) is None
        )
    assert sorted(a["home_account_id"] for a in cache.find_accounts()) == sorted(
        a["home_account_id"] for a in fresh.find_accounts()
    )
    if bound is not None and cache._lru is not None:
        assert cache._lru.size <= bound


def test_a_thread_and_coroutines_refreshing_one_account_send_one_refresh(
    new_store: NewStore,
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    sync_app, async_app = cca(entra, clock, cache), async_cca(entra, clock, cache)
    account = _signed_in(entra, sync_app)
    clock.advance(7200)  # the access token has expired: each call must refresh
    before = entra.tokens_posted("refresh_token")
    start = threading.Barrier(2, timeout=WAIT)
    got: list[Any] = []

    def sync_side() -> None:
        start.wait()
        got.append(sync_app.acquire_token_silent(SCOPES, account))

    async def main() -> list[Any]:
        thread = threading.Thread(target=sync_side)
        thread.start()
        await asyncio.to_thread(start.wait)
        calls = [async_app.acquire_token_silent(SCOPES, account) for _ in range(3)]
        results = await asyncio.gather(*calls)
        await asyncio.to_thread(thread.join, WAIT)
        return list(results)

    results = _run(main()) + got
    assert len({result["access_token"] for result in results}) == 1, results
    assert entra.tokens_posted("refresh_token") == before + 1


def test_a_sign_out_whose_write_failed_can_be_made_again(breakable: Callable[[], Any]) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    store = breakable()
    app = cca(entra, clock, PersistentTokenCache(store, clock=clock))
    account = _signed_in(entra, app)
    _while_broken(store, "write", lambda: app.remove_account(account))
    # the store still holds the account, and memory says so again (it is read again)
    assert [a["home_account_id"] for a in app.get_accounts()] == [account["home_account_id"]]
    silent = app.acquire_token_silent(SCOPES, account)
    assert silent and "access_token" in silent
    app.remove_account(account)  # the call raised: the app makes it again
    assert app.get_accounts() == []
    assert _left_in_store(breakable, clock, account["home_account_id"]) == []


def test_a_bounded_memory_cache_below_its_bound_serializes_and_flags_as_msal() -> None:
    oracle, cache = msal.SerializableTokenCache(), BoundedTokenCache(1000, clock=lambda: LIVE)
    flags: list[tuple[bool, bool]] = []
    for target in (oracle, cache):
        _same_ops(target)
    flags.append((oracle.has_state_changed, cache.has_state_changed))
    assert _without_times(json.loads(cache.serialize())) == _without_times(
        json.loads(oracle.serialize())
    )
    flags.append((oracle.has_state_changed, cache.has_state_changed))
    for target in (oracle, cache):
        target.add(user_event(uid="u9", utid="tid"), now=LIVE)
    flags.append((oracle.has_state_changed, cache.has_state_changed))
    text = oracle.serialize()
    for target in (oracle, cache):
        target.deserialize(text)
    flags.append((oracle.has_state_changed, cache.has_state_changed))
    assert flags == [(True, True), (False, False), (True, True), (False, False)]
    assert json.loads(cache.serialize()) == json.loads(text)
