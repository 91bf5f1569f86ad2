"""The Redis rows, measured in a process of their own (the bench process forbids every
socket; this one allows loopback only): see :mod:`bench.scenarios.stores`."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

from bench.fakehttp import FakeHttpClient
from bench.libs import load_tokensmith
from bench.storeprobe import refresh_event
from bench.timing import Call, Settings, measure

__all__ = ["SETTINGS", "redis_rows"]

SETTINGS = Settings(repeats=5, warmup=5, budget_s=0.1)
_PICKS = 64


def _loopback_only() -> None:
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if inet and not ipaddress.ip_address(address[0]).is_loopback:
            raise RuntimeError(f"the bench allows loopback only, not {address[0]}")
        original(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]


def _check(result: Any) -> None:
    if not isinstance(result, dict) or result.get("token_source") != "cache":
        raise RuntimeError(f"not a cache hit: {str(result)[:200]}")


def redis_rows(url: str, size: int, json_path: str) -> str:
    """JSON ``{row: [median_ns, runs]}`` for the L1 hit, L2 hit and persist rows."""
    _loopback_only()
    import redis

    from tokensmith.stores import PersistentTokenCache, RedisStore

    client = redis.Redis.from_url(url)
    client.flushdb()
    store = RedisStore(client, prefix="bench:")
    with open(json_path, encoding="utf-8") as handle:
        state = json.load(handle)
    store.replace_all(state)  # untimed fill: one pipeline
    accounts = list(state["Account"].values())
    step = max(1, len(accounts) // _PICKS)
    picks = accounts[::step][:_PICKS]
    lib = load_tokensmith()
    http = FakeHttpClient()

    def l1_factory() -> Call:
        app = lib.public_app(PersistentTokenCache(store), http)
        for account in picks:
            _check(app.acquire_token_silent(["User.Read"], account))
        k = len(picks)
        return lambda i: app.acquire_token_silent(["User.Read"], picks[i % k])

    def l2_factory() -> Call:
        apps = [lib.public_app(PersistentTokenCache(store), http) for _ in picks]

        def call(i: int) -> object:
            result = apps[i].acquire_token_silent(["User.Read"], picks[i])
            _check(result)
            return result

        return call

    def persist_factory() -> Call:
        cache = PersistentTokenCache(store)
        now = int(__import__("time").time())
        return lambda i: cache.add(refresh_event(size + i, now))

    rows = {
        "l1": measure(l1_factory, SETTINGS),
        "l2": measure(l2_factory, SETTINGS, fresh_state_per_repeat=True, max_iterations=len(picks)),
        "persist": measure(persist_factory, SETTINGS),
    }
    if http.post_count:
        raise RuntimeError(f"{http.post_count} token requests during cache hits")
    client.flushdb()
    client.close()
    return json.dumps({k: [m.median_ns, m.runs] for k, m in rows.items()})
