"""A long-running API that calls a downstream API on behalf of each of its users
(the on-behalf-of grant): N users come in turn, each with a new assertion, each call a
cache miss answered by the fake endpoint and written to the cache.

tokensmith runs with ``tokensmith.stores.BoundedTokenCache(max_entries=1,000)``, MSAL
with its ``SerializableTokenCache``, which has no bound: the "entries in memory" row
is what each cache holds after the N users, the other row the cost of one such call
(total time / N), eviction included. MSAL's cache is not run above the fill limit (its
lookups scan the cache, so N calls cost O(n^2)).
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Mapping
from typing import Any

from bench.fakehttp import OBO_GRANT, FakeHttpClient
from bench.libs import MSAL, TOKENSMITH, Library
from bench.scenarios.base import COUNT, BenchCheckError, Cell, Context, Row, Scenario

__all__ = ["BOUND", "SCENARIOS"]

HELD = Row("obo_service_held", "OBO API, N users in turn: entries in memory after", COUNT)
CALL = Row("obo_service_call", "OBO API, N users in turn: one call (a new user)")

BOUND = 1_000
"""``max_entries`` of tokensmith's cache in this scenario."""

DOWNSTREAM = ["api://downstream.contoso.example/.default"]


def _cache(lib: Library) -> Any:
    if lib.name == TOKENSMITH:
        stores = importlib.import_module(f"{lib.module.__name__}.stores")
        return stores.BoundedTokenCache(BOUND)
    return lib.cache_from_json(None)


def _held(cache: Any) -> int:
    return sum(len(section) for section in cache._cache.values() if isinstance(section, dict))


def _serve(lib: Library, size: int) -> tuple[int, int]:
    """One pass: ``size`` users in turn; returns (nanoseconds, entries held after)."""
    http = FakeHttpClient()
    cache = _cache(lib)
    app = lib.confidential_app(cache, http)
    assertions = [f"eyJhbGciOiJub25lIn0.user-{n:08d}.signature-{n:08d}" for n in range(size)]
    start = time.perf_counter_ns()
    for assertion in assertions:
        result = app.acquire_token_on_behalf_of(assertion, DOWNSTREAM)
        if result.get("access_token") != f"obo-at-{assertion[-12:]}":
            raise BenchCheckError(f"an on-behalf-of call failed: {result.get('error')!r}")
    elapsed = time.perf_counter_ns() - start
    sent = http.grant_counts().get(OBO_GRANT, 0)
    if sent != size:
        raise BenchCheckError(f"{sent} on-behalf-of requests for {size} users")
    return elapsed, _held(cache)


def obo_service(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``size`` users in turn through one app; median of a few passes."""
    if lib.name == MSAL and size > ctx.msal_fill_limit:
        note = f"not run above {ctx.msal_fill_limit:,} users: O(n^2)"
        return {HELD.key: Cell("skipped", note=note), CALL.key: Cell("skipped", note=note)}
    settings = ctx.settings
    runs = [_serve(lib, size)]
    while len(runs) < settings.min_repeats and sum(t for t, _ in runs) <= settings.max_cell_s * 1e9:
        runs.append(_serve(lib, size))
    held = runs[-1][1]
    bound = f"BoundedTokenCache(max_entries={BOUND:,})" if lib.name == TOKENSMITH else "no bound"
    return {
        HELD.key: Cell("ok", held, f"{len(runs)}x1", bound),
        CALL.key: Cell("ok", statistics.median(t for t, _ in runs) / size, f"{len(runs)}x{size}"),
    }


SCENARIOS = (Scenario((HELD, CALL), obo_service),)
