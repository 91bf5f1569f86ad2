"""Worker processes of the store tests: ``python -m tests.stores._worker <job> ...``.

Jobs:
- ``flight <redis_url> <start_at>``: a confidential app on a RedisStore asks for an app
  token at ``start_at`` (epoch seconds); its identity provider (in-process, a fake)
  counts token requests per scope in Redis (``requests:<scope>``), answers slowly.
- ``write <store> <path> <worker> <count>``: ``count`` token responses, each a new
  account, written through PersistentTokenCache over ``sqlite``, ``file`` or ``redis``.
- ``msalext <path> <worker> <count>``: the same through msal-extensions' cache.
- ``put <store> <where> <worker> <count> <slots>``, ``msalput <path> <worker> <count>
  <slots>``: small entries written one by one (see :func:`put`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import user_event

from tokensmith.transport.base import HttpResponse


def _store(kind: str, where: str) -> Any:
    from tokensmith import stores

    if kind == "sqlite":
        return stores.SqliteStore(where)
    if kind == "file":
        return stores.FileStore(where)
    if kind == "redis":
        return stores.RedisStore(url=where)
    raise SystemExit(f"unknown store {kind}")


def flight(redis_url: str, start_at: str) -> None:
    import redis

    import tokensmith
    from tokensmith.stores import PersistentTokenCache, RedisStore

    counter = redis.Redis.from_url(redis_url)
    entra = FakeEntra(time.time)

    def slow_issue(form: dict[str, str]) -> HttpResponse:
        counter.incr("requests:" + form.get("scope", ""))
        time.sleep(0.3)
        return entra.issue(form)

    entra.token_handler = slow_issue
    cache = PersistentTokenCache(RedisStore(url=redis_url, prefix="flight:"))
    app = tokensmith.ConfidentialClientApplication(
        "web-app",
        "s3cret",
        authority="https://login.microsoftonline.com/contoso.example",
        transport=entra.transport,
        token_cache=cache,
    )
    app.acquire_token_for_client(["api://x/.default"], force_refresh=False)  # warm discovery
    time.sleep(max(0.0, float(start_at) - time.time()))
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    print(result["token_source"])


def write(kind: str, where: str, worker: str, count: str) -> None:
    from tokensmith.stores import PersistentTokenCache

    cache = PersistentTokenCache(_store(kind, where))
    for n in range(int(count)):
        cache.add(user_event(uid=f"w{worker}-{n}", utid="tid", scope=["User.Read"]))
    print("ok")


def put(kind: str, where: str, worker: str, count: str, slots: str) -> None:
    """``count`` writes of small AppMetadata entries: distinct keys when ``slots`` is 0,
    else ``slots`` keys overwritten in turn (the last value of each must survive)."""
    from tokensmith.stores import PersistentTokenCache

    cache = PersistentTokenCache(_store(kind, where))
    _puts(cache, "t", worker, int(count), int(slots))
    cache.close()
    print("ok")


def msalput(where: str, worker: str, count: str, slots: str) -> None:
    """The same writes through msal-extensions' PersistedTokenCache on the real msal."""
    from msal_extensions import FilePersistence, PersistedTokenCache

    _puts(PersistedTokenCache(FilePersistence(where)), "m", worker, int(count), int(slots))
    print("ok")


def _puts(cache: Any, tag: str, worker: str, count: int, slots: int) -> None:
    for n in range(count):
        slot = n % slots if slots else n
        entry = {"client_id": f"{tag}{worker}-{slot}", "environment": "env"}
        cache.modify("AppMetadata", entry, {"family_id": str(n)})


def msalext(where: str, worker: str, count: str) -> None:
    from msal_extensions import FilePersistence, PersistedTokenCache

    cache = PersistedTokenCache(FilePersistence(where))
    for n in range(int(count)):
        cache.add(user_event(uid=f"m{worker}-{n}", utid="tid", scope=["User.Read"]))
    print("ok")


if __name__ == "__main__":
    job, *args = sys.argv[1:]
    jobs = {"flight": flight, "write": write, "msalext": msalext, "put": put, "msalput": msalput}
    jobs[job](*args)
