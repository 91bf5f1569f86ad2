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
