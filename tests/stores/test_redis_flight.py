"""The Redis single flight on a real redis-server: its lock's release, lease and
re-entry, and what its leaders read first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tokensmith._clock import FakeClock
from tokensmith.stores import RedisStore

LOCKS = "tokensmith:lock:*"


def _back_off(store: RedisStore) -> None:
    """As after a timeout of another command: the store leaves Redis alone (its fake
    timer never moves, so the back-off never ends)."""
    import redis

    store._failed("test", redis.TimeoutError(), store._timer())
    assert store.attempt("probe", lambda: "sent", "skipped") == "skipped"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_lock_is_released_while_the_store_backs_off(redis_client: Any, kind: str) -> None:
    # A timeout elsewhere during the fetch: the release must still be sent, or the lock
    # stays for its whole lease and every other process waits it out.
    store = RedisStore(redis_client, timer=FakeClock(0.0))
    flight = store.single_flight()

    def fetch() -> str:
        assert redis_client.keys(LOCKS)  # held
        _back_off(store)
        return "token"

    async def fetch_async() -> str:
        return fetch()

    if kind == "sync":
        assert flight.run("key", fetch) == "token"
    else:
        assert asyncio.run(flight.run_async("key", fetch_async)) == "token"
    assert redis_client.keys(LOCKS) == []


def test_a_failing_release_never_raises(redis_client: Any) -> None:
    class Failing:
        def __init__(self, client: Any) -> None:
            self._client = client

        def set(self, *args: Any, **kwargs: Any) -> Any:
            return self._client.set(*args, **kwargs)

        def eval(self, *args: Any) -> Any:
            raise RuntimeError("not a Redis error")

    store = RedisStore(Failing(redis_client), timer=FakeClock(0.0))
    flight = store.single_flight()
    assert flight.run("key", lambda: "token") == "token"

    def fetch() -> str:
        _back_off(store)
        return "token"

    assert flight.run("other", fetch) == "token"  # sent directly: failed, not raised


def test_nothing_is_released_that_was_never_asked_for(redis_client: Any) -> None:
    # During a back-off the lock is not taken, so its release sends nothing either.
    sent: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            sent.append(name)
            return getattr(redis_client, name)

    store = RedisStore(Counting(), timer=FakeClock(0.0))
    _back_off(store)
    assert store.single_flight().run("key", lambda: "token") == "token"
    assert sent == []


def _counting_locks(flight: Any) -> list[str]:
    """The names of the locks ``flight`` tries to take, in order."""
    tried: list[str] = []
    try_lock = flight._try_lock

    def counting(name: str, token: str) -> bool:
        tried.append(name)
        taken: bool = try_lock(name, token)
        return taken

    flight._try_lock = counting
    return tried


def test_sync_code_on_the_loop_of_an_async_leader_takes_no_lock(redis_client: Any) -> None:
    # An async leader of the key awaits its fetch, holding the key's Redis lock; sync code
    # on that loop asks for the key: it runs directly (SingleFlight's re-entry), and must
    # not poll the lock its own leader holds, with time.sleep on the loop.
    import time

    store = RedisStore(redis_client)
    flight: Any = store.single_flight()
    flight._wait = 5.0
    tried = _counting_locks(flight)

    async def main() -> float:
        fetching, done = asyncio.Event(), asyncio.Event()

        async def fetch() -> str:
            fetching.set()
            await done.wait()
            return "async"

        lead = asyncio.ensure_future(flight.run_async("key", fetch))
        await fetching.wait()
        assert redis_client.keys(LOCKS)  # the async leader holds it
        started = time.monotonic()
        assert flight.run("key", lambda: "sync") == "sync"
        blocked = time.monotonic() - started
        done.set()
        assert await lead == "async"
        return blocked

    assert asyncio.run(main()) < 1.0
    assert len(tried) == 1  # the async leader's only
    assert redis_client.keys(LOCKS) == []


def test_a_reentry_from_inside_the_leader_takes_no_lock(redis_client: Any) -> None:
    store = RedisStore(redis_client)
    flight: Any = store.single_flight()
    flight._wait = 5.0
    tried = _counting_locks(flight)

    def outer() -> str:
        return "outer+" + flight.run("key", lambda: "inner")

    async def outer_async() -> str:
        async def inner() -> str:
            return "inner"

        return "outer+" + await flight.run_async("key", inner)

    assert flight.run("key", outer) == "outer+inner"
    assert asyncio.run(flight.run_async("key", outer_async)) == "outer+inner"
    assert len(tried) == 2  # one per leader
    # another key from inside a leader's fn leads that key: it takes its own lock
    assert flight.run("key", lambda: flight.run("other", lambda: "x")) == "x"
    assert len(tried) == 4 and tried[2] != tried[3]
    assert redis_client.keys(LOCKS) == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_leader_that_finds_the_lock_free_reads_the_new_token_from_redis(
    redis_client: Any, kind: str
) -> None:
    # Two "processes" hold the app token, due for a proactive refresh (refresh_in). A
    # refreshes it; B asks just after, when the lock is free again: B took it without
    # waiting, so it looked in memory only, found the old token and refreshed again.
    import time

    from tests.stores._apps import SCOPE, async_cca, cca
    from tests.unit.application.fake_entra import FakeEntra

    from tokensmith.stores import PersistentTokenCache

    clock = FakeClock(int(time.time()))
    entra = FakeEntra(clock)
    entra.expires_in, entra.extra = 7200, {"refresh_in": 3600}
    a = cca(entra, clock, PersistentTokenCache(RedisStore(redis_client), clock=clock))
    make = cca if kind == "sync" else async_cca
    b = make(entra, clock, PersistentTokenCache(RedisStore(redis_client), clock=clock))

    def b_call() -> Any:
        call = b.acquire_token_for_client(SCOPE)
        return asyncio.run(call) if kind == "async" else call

    assert a.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    assert b_call()["token_source"] == "cache"  # both hold it in memory
    clock.advance(3601)  # due for refresh, still valid
    assert a.acquire_token_for_client(SCOPE)["access_token"] == "at-2"
    clock.advance(1)
    result = b_call()
    assert (result["access_token"], result["token_source"]) == ("at-2", "cache")
    assert entra.tokens_posted() == 2  # the first token and one refresh


def _lease_threads() -> list[Any]:
    import threading

    return [t for t in threading.enumerate() if t.name == "tokensmith-lease"]


def _no_lease_thread_left() -> bool:
    import time

    deadline = time.monotonic() + 2
    while _lease_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _lease_threads()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_lease_is_renewed_while_a_slow_fetch_runs(redis_client: Any, kind: str) -> None:
    # A token request may outlast the lease (connect 10 s + read 30 s, retries): the
    # holder renews it, or a waiting process takes the lock and sends a second request.
    import time

    store = RedisStore(redis_client, flight_lease=0.6, flight_wait=5)
    flight = store.single_flight()
    seen: list[tuple[bytes, int]] = []

    def fetch() -> str:
        [name] = redis_client.keys(LOCKS)
        for _ in range(5):  # 1.5 s: two leases and a half
            time.sleep(0.3)
            seen.append((redis_client.get(name), redis_client.pttl(name)))
        return "token"

    async def fetch_async() -> str:
        return await asyncio.to_thread(fetch)

    if kind == "sync":
        assert flight.run("key", fetch) == "token"
    else:
        assert asyncio.run(flight.run_async("key", fetch_async)) == "token"
    assert len({token for token, _ in seen}) == 1 and all(0 < ms <= 600 for _, ms in seen)
    assert redis_client.keys(LOCKS) == []  # released
    assert _no_lease_thread_left()


def test_a_lock_taken_over_is_not_renewed(redis_client: Any) -> None:
    import time

    store = RedisStore(redis_client, flight_lease=0.3)
    flight = store.single_flight()

    def fetch() -> str:
        [name] = redis_client.keys(LOCKS)
        redis_client.set(name, "another process", px=2000)  # ours expired, taken over
        time.sleep(0.5)
        assert redis_client.pttl(name) > 1000  # not renewed: not ours
        assert not _lease_threads()  # its renewal stopped by itself
        return "token"

    assert flight.run("key", fetch) == "token"
    assert redis_client.get(redis_client.keys(LOCKS)[0]) == b"another process"  # kept


@pytest.mark.parametrize("follower_kind", ["sync", "async"])
def test_a_request_slower_than_the_lease_is_sent_once(
    redis_client: Any, follower_kind: str
) -> None:
    import threading
    import time

    from tests.stores._apps import SCOPE, async_cca, cca
    from tests.unit.application.fake_entra import FakeEntra

    from tokensmith.stores import PersistentTokenCache

    entra = FakeEntra(time.time)
    issue, fetching = entra.issue, threading.Event()

    def slow(form: dict[str, str]) -> Any:
        fetching.set()
        time.sleep(1.5)  # three leases
        return issue(form)

    entra.token_handler = slow
    clock: Any = FakeClock(time.time())

    def app(make: Any) -> Any:
        store = RedisStore(redis_client, flight_lease=0.5, flight_wait=5)
        return make(entra, clock, PersistentTokenCache(store, clock=time.time))

    leader = app(cca)
    follower = app(cca if follower_kind == "sync" else async_cca)
    results: dict[str, Any] = {}
    lead = threading.Thread(
        target=lambda: results.update(lead=leader.acquire_token_for_client(SCOPE))
    )
    lead.start()
    assert fetching.wait(5)
    time.sleep(0.1)  # the leader holds the lock
    call = follower.acquire_token_for_client(SCOPE)
    follow = asyncio.run(call) if follower_kind == "async" else call
    lead.join(10)
    assert results["lead"]["token_source"] == "identity_provider"
    assert follow["token_source"] == "cache"  # the leader's, from Redis
    assert follow["access_token"] == results["lead"]["access_token"]
    assert entra.tokens_posted() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"flight_lease": 0},
        {"flight_lease": 0.0001},
        {"flight_lease": float("nan")},
        {"flight_lease": float("inf")},
        {"flight_lease": True},
        {"flight_lease": "30"},
        {"flight_wait": -1},
        {"flight_wait": float("nan")},
        {"flight_wait": None},
    ],
)
def test_the_lease_and_the_wait_are_checked(redis_client: Any, kwargs: dict[str, Any]) -> None:
    from tokensmith.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        RedisStore(redis_client, **kwargs)


def test_the_lease_defaults_to_30_s_and_the_wait_to_one_calls_deadline(
    redis_client: Any,
) -> None:
    # A waiter gave up after 30 s, the lease's length, and sent a second request for
    # a request slower than that, however long the holder renewed its lease.
    flight: Any = RedisStore(redis_client).single_flight()
    assert (flight._lease, flight._wait) == (30.0, 120.0)
    flight = RedisStore(redis_client, flight_lease=2, flight_wait=0).single_flight()
    assert (flight._lease, flight._wait) == (2.0, 0.0)


def test_a_child_forked_inside_the_leaders_fn_leaves_the_parents_lock(redis_client: Any) -> None:
    # The child finishes fn first and ran the release with the parent's token: the lock
    # was gone while the parent still fetched, and another process could send a second
    # request.
    import os

    flight: Any = RedisStore(redis_client).single_flight()
    parent = os.getpid()
    held: list[int] = []

    def fn() -> str:
        child = os.fork()
        if child == 0:
            return "child"  # then the child's release runs
        try:
            _, status = os.waitpid(child, 0)
            held.append(len(redis_client.keys("tokensmith:lock:*")))
            return "parent" if status == 0 else "child failed"
        except BaseException:
            os.kill(child, 9)
            raise

    try:
        outcome = flight.run("k", fn)
    finally:
        if os.getpid() != parent:
            os._exit(0)
    assert outcome == "parent" and held == [1]  # still held once the child is done
    assert redis_client.keys("tokensmith:lock:*") == []  # released by the parent
