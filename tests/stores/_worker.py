"""Worker processes of the store tests: ``python -m tests.stores._worker <job> ...``.

Jobs:
- ``flight <redis_url> <start_at>``: a confidential app on a RedisStore asks for an app
  token at ``start_at`` (epoch seconds); its identity provider (in-process, a fake)
  counts token requests per scope in Redis (``requests:<scope>``), answers slowly.
- ``write <store> <path> <worker> <count>``: ``count`` token responses, each a new
  account, written through PersistentTokenCache over ``sqlite``, ``file`` or ``redis``.
- ``msalext <path> <worker> <count>``: the same through msal-extensions' cache.
- ``put <store> <where> <worker> <count> <slots> [check]``, ``msalput <path> <worker>
  <count> <slots>``: small entries written one by one (see :func:`put`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
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


def put(kind: str, where: str, worker: str, count: str, slots: str, check: str = "") -> None:
    """``count`` writes of small AppMetadata entries: distinct keys when ``slots`` is 0,
    else ``slots`` keys overwritten in turn (the last value of each must survive).

    ``check`` (the file store): after each round over the slots, the file (read as it
    is, not through the cache) must hold this worker's latest value of every slot and
    no older value of any entry than the last check saw, so a lost update shows in
    whichever round it happens, not only in the last one.
    """
    from tokensmith.stores import PersistentTokenCache

    cache = PersistentTokenCache(_store(kind, where))
    verify = _file_check(where, "t", worker) if check else None
    _puts(cache, "t", worker, int(count), int(slots), verify)
    cache.close()
    print("ok")


def _file_check(where: str, tag: str, worker: str) -> Callable[[dict[str, int]], None]:
    """A check of the file: it holds this worker's latest values, and no entry of any
    worker went back to an older value or went missing since the last check."""
    import json
    from pathlib import Path

    seen: dict[str, int] = {}

    def verify(latest: dict[str, int]) -> None:
        state = json.loads(Path(where).read_text())
        held = {e["client_id"]: int(e["family_id"]) for e in state["AppMetadata"].values()}
        mine = {k: v for k, v in held.items() if k.startswith(f"{tag}{worker}-")}
        back = {k: (v, held.get(k)) for k, v in seen.items() if held.get(k, -1) < v}
        if mine != latest or back:
            lost = {k: (v, held.get(k)) for k, v in latest.items() if held.get(k) != v}
            raise SystemExit(f"lost updates (written or seen, in the file): {lost} {back}")
        seen.update(held)

    return verify


def msalput(where: str, worker: str, count: str, slots: str) -> None:
    """The same writes through msal-extensions' PersistedTokenCache on the real msal."""
    from msal_extensions import FilePersistence, PersistedTokenCache

    _puts(PersistedTokenCache(FilePersistence(where)), "m", worker, int(count), int(slots))
    print("ok")


def _puts(
    cache: Any,
    tag: str,
    worker: str,
    count: int,
    slots: int,
    verify: Callable[[dict[str, int]], None] | None = None,
) -> None:
    latest: dict[str, int] = {}
    for n in range(count):
        slot = n % slots if slots else n
        entry = {"client_id": f"{tag}{worker}-{slot}", "environment": "env"}
        cache.modify("AppMetadata", entry, {"family_id": str(n)})
        latest[entry["client_id"]] = n
        if verify is not None and slots and slot == slots - 1:
            verify(latest)


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
