"""The collector pause of the bulk builds: it restores the collector's state, and the
first get_accounts() of a large cache builds its accounts without a collection per
few hundred of them."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest
from bench import cachegen

import tokensmith
from tokensmith.cache.buckets import gc_paused


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """Generations of the collections that start while the fixture is active."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # the interpreter's defaults, whatever ran before
    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*thresholds)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_pause_restores_the_collector_state(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with gc_paused():
            assert not gc.isenabled()
            with gc_paused():  # nested: still paused, and the outer one restores
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError), gc_paused():
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_first_get_accounts_of_a_large_cache_is_not_interrupted(collections: list[int]) -> None:
    now = int(time.time())
    users = 5000
    cache = tokensmith.SerializableTokenCache()
    cache.deserialize(cachegen.generate_user_cache(users, now=now).text_at(now))
    app = tokensmith.PublicClientApplication(
        cachegen.CLIENT_ID,
        authority=cachegen.AUTHORITY,
        token_cache=cache,
        http_client=object(),
        instance_discovery=False,
    )
    assert gc.isenabled()
    gc.collect()
    collections.clear()
    accounts = app.get_accounts()
    assert len(accounts) == users
    # 5,000 new accounts would start about seven collections without the pause; with
    # it, the one that the first allocation after it starts (and, at worst, one that
    # another thread's allocations start before the call returns)
    assert len(collections) <= 2, collections
    assert gc.isenabled()
