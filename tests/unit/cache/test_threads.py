"""Thread-safety smoke test: concurrent writers, readers and reloads on one cache."""

from __future__ import annotations

import random
import threading
from typing import Any

from tests.unit.cache._helpers import NOW, app_event, user_event

from tokensmith.cache import SerializableTokenCache

ENV = "login.microsoftonline.com"
UIDS = [f"u{i}" for i in range(6)]


def _worker(cache: SerializableTokenCache, seed: int, errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    try:
        for _ in range(300):
            uid = rng.choice(UIDS)
            roll = rng.random()
            if roll < 0.35:
                cache.add(
                    user_event(uid=uid, utid="t", scope=[rng.choice(["a", "b", "c"])]), now=NOW
                )
            elif roll < 0.5:
                cache.add(
                    app_event(rng.choice(["x", "y"]), expires_in=rng.choice([1, 3600])), now=NOW
                )
            elif roll < 0.7:
                cache.find_access_token(
                    home_account_id=f"{uid}.t",
                    environments=[ENV],
                    client_id=user_event()["client_id"],
                    realm="common",
                    scopes=["a"],
                    now=NOW + 10,
                )
                cache.find_refresh_tokens(home_account_id=f"{uid}.t", environments=[ENV])
            elif roll < 0.8:
                for entry in cache.search("Account", query={"environment": ENV}):
                    assert entry["environment"] == ENV
            elif roll < 0.9:
                cache.forget_account(
                    home_account_id=f"{uid}.t",
                    environments=[ENV],
                    client_id=user_event()["client_id"],
                )
            elif roll < 0.97:
                list(cache.search("AccessToken", now=NOW + 10))
            else:
                cache.deserialize(cache.serialize())
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def _answers(cache: SerializableTokenCache) -> list[Any]:
    client_id = user_event()["client_id"]
    out: list[Any] = [sorted(a["home_account_id"] for a in cache.find_accounts())]
    for uid in UIDS:
        home = f"{uid}.t"
        out.append(
            sorted(
                rt["target"]
                for rt in cache.find_refresh_tokens(home_account_id=home, environments=[ENV])
            )
        )
        at = cache.find_access_token(
            home_account_id=home,
            environments=[ENV],
            client_id=client_id,
            realm="common",
            scopes=["a"],
            now=NOW,
        )
        out.append(at and at["secret"])
    return out


def test_concurrent_use_keeps_the_cache_and_its_indexes_consistent() -> None:
    cache = SerializableTokenCache()
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_worker, args=(cache, seed, errors)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert errors == []
    fresh = SerializableTokenCache()
    fresh.deserialize(cache.serialize())  # indexes built from scratch
    assert _answers(cache) == _answers(fresh)
