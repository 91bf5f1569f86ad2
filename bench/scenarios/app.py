"""Confidential-client scenarios: client-credentials hit, filling the cache, and 32
threads asking at once for the same missing token.

The cache holds app-only tokens for ``size`` resources of one tenant.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Mapping
from typing import Any

from bench import cachegen
from bench.fakehttp import FakeHttpClient
from bench.libs import MSAL, Library
from bench.scenarios.base import (
    COUNT,
    WARM_LOOKUPS,
    BenchCheckError,
    Cell,
    Context,
    Row,
    Scenario,
    expect_token,
    spread,
)
from bench.timing import Call, measure

__all__ = ["SCENARIOS"]

CC_HIT = Row("cc_hit", "client-credentials hit")
CC_FILL = Row("cc_fill", "fill cache: N resources (total)")
THREADS_REQUESTS = Row("threads_requests", "32 threads, same missing token: requests", COUNT)
THREADS_WALL = Row("threads_wall", "32 threads, same missing token: wall time")

MISSING_SCOPE = "https://missing.contoso.example/.default"
JOIN_TIMEOUT_S = 120.0


def cc_hit(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_for_client for resources already in the cache."""
    cache = ctx.app_cache(size)
    picks = spread(size, ctx.spread_count)
    scopes = [[cache.scopes[i]] for i in picks]
    http = FakeHttpClient()

    def factory() -> Call:
        app = lib.confidential_app(lib.cache_from_json(cache.text), http)
        for index in picks:  # every timed input
            result = app.acquire_token_for_client([cache.scopes[index]])
            expect_token(result, cache.secrets[index], "cache")
        k = len(scopes)
        return lambda i: app.acquire_token_for_client(scopes[i % k])

    measurement = measure(factory, ctx.settings)
    if http.post_count:
        raise BenchCheckError(f"{http.post_count} token requests during cache hits")
    return {"": Cell.of(measurement)}


def _fill_once(lib: Library, size: int) -> int:
    http = FakeHttpClient()
    app = lib.confidential_app(lib.cache_from_json(None), http)
    scopes = [[cachegen.app_scope(i)] for i in range(size)]
    start = time.perf_counter_ns()
    for scope in scopes:
        result = app.acquire_token_for_client(scope)
        if "access_token" not in result:
            raise BenchCheckError(f"filling the cache failed: {result.get('error')!r}")
    elapsed = time.perf_counter_ns() - start
    if http.post_count != size:
        raise BenchCheckError(f"{http.post_count} token requests to fill {size} resources")
    return elapsed


def cc_fill(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """Total wall time to fill an empty cache with tokens for ``size`` resources.

    Each call is a miss answered by the in-process endpoint with no latency. MSAL's
    fill is O(n^2) (10k resources take about a minute), so it is not run above
    ``ctx.msal_fill_limit`` resources.
    """
    if lib.name == MSAL and size > ctx.msal_fill_limit:
        note = f"not run above {ctx.msal_fill_limit:,} resources: O(n^2) fill"
        return {"": Cell("skipped", note=note)}
    settings = ctx.settings
    runs = [_fill_once(lib, size)]
    spent = runs[0]
    while len(runs) < settings.repeats and spent + runs[0] <= settings.max_cell_s * 1e9:
        runs.append(_fill_once(lib, size))
        spent += runs[-1]
    return {"": Cell("ok", statistics.median(runs), f"{len(runs)}x1")}


def _race_once(lib: Library, size: int, ctx: Context) -> tuple[int, int]:
    cache = ctx.app_cache(size)
    http = FakeHttpClient(token_latency=ctx.token_latency)
    app = lib.confidential_app(lib.cache_from_json(cache.text), http)
    # A service under concurrent load has been running: bring the app to its steady
    # state with a few cache hits (the same calls for both libraries, no requests).
    for index in range(min(WARM_LOOKUPS, len(cache.scopes))):
        expect_token(
            app.acquire_token_for_client([cache.scopes[index]]), cache.secrets[index], "cache"
        )
    barrier = threading.Barrier(ctx.threads + 1)
    results: list[Any] = [None] * ctx.threads

    def worker(slot: int) -> None:
        barrier.wait()
        try:
            results[slot] = app.acquire_token_for_client([MISSING_SCOPE])
        except Exception as exc:  # reported below, in the main thread
            results[slot] = exc

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(ctx.threads)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter_ns()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    elapsed = time.perf_counter_ns() - start
    if any(thread.is_alive() for thread in threads):
        raise BenchCheckError(f"threads still waiting after {JOIN_TIMEOUT_S} s (deadlock?)")
    for result in results:
        if isinstance(result, Exception):
            raise BenchCheckError(f"a thread failed: {type(result).__name__}: {result}")
        if not isinstance(result, dict) or "access_token" not in result:
            raise BenchCheckError("a thread did not get a token")
    return http.post_count, elapsed


def threads_same_token(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``ctx.threads`` threads call acquire_token_for_client for one missing token.

    Counts the token requests sent (single-flight would send one) and the wall time
    from the common start until every thread has its token; the endpoint answers
    after ``ctx.token_latency`` seconds.
    """
    repeats = max(ctx.settings.min_repeats, min(ctx.settings.repeats, 5))
    outcomes = [_race_once(lib, size, ctx) for _ in range(repeats)]
    counts = [count for count, _ in outcomes]
    walls = [wall for _, wall in outcomes]
    note = f"requests per run: {counts}; endpoint latency {ctx.token_latency * 1000:g} ms"
    return {
        THREADS_REQUESTS.key: Cell("ok", statistics.median(counts), f"{repeats}x1", note),
        THREADS_WALL.key: Cell("ok", statistics.median(walls), f"{repeats}x1"),
    }


SCENARIOS = (
    Scenario((CC_HIT,), cc_hit),
    Scenario((CC_FILL,), cc_fill),
    Scenario((THREADS_REQUESTS, THREADS_WALL), threads_same_token),
)
