"""asyncio scenarios: async silent hits, 1,000 concurrent coroutines on cached tokens,
100 coroutines on one expired token, and the async client-credentials hit beside
azure-identity's ``azure.identity.aio.ClientSecretCredential``.

tokensmith runs through ``tokensmith.aio`` (the same constructor arguments as the sync
façade) over :class:`bench.fakehttp.AsyncFakeHttpClient`, whose coroutines are used
directly (no worker thread). MSAL Python has no async API: its cells read "n/a".
azure-identity runs only in the client-credentials row, over an azure-core transport
answered by the same fake endpoint (:mod:`bench.fakeazure`).
"""

from __future__ import annotations

import asyncio
import importlib
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bench import cachegen
from bench.fakehttp import AsyncFakeHttpClient, FakeEndpoint
from bench.libs import AZURE_IDENTITY, CLIENT_SECRET, MSAL, TOKENSMITH, Library, async_twin
from bench.scenarios.base import (
    COUNT,
    BenchCheckError,
    Cell,
    Context,
    Row,
    Scenario,
    expect_token,
    select_accounts,
    spread,
)
from bench.timing import AsyncCall, measure_async

__all__ = ["SCENARIOS"]

SILENT = Row("async_silent_hit", "async silent hit, exact cached scopes")
CACHED_1000 = Row("async_1000_cached", "1,000 coroutines, cached tokens: wall time (total)")
EXPIRED_100 = Row(
    "async_100_expired_requests", "100 coroutines, one expired token: requests", COUNT
)
CC_HIT = Row("async_cc_hit", "async client-credentials hit")

NO_ASYNC = "MSAL Python has no async API"
EXACT_SCOPES = ("User.Read", "Mail.Read")
CACHED_COROUTINES = 1_000
EXPIRED_COROUTINES = 100
CC_SCOPE = "https://api.contoso.example/.default"
ISSUED_APP_TOKEN = "app-at-issued-by-fake"  # what FakeEndpoint answers for client credentials


def _twin_or_na(lib: Library) -> Library | Cell:
    twin = async_twin(lib)
    if twin is None:
        return Cell("n/a", note=NO_ASYNC)
    if twin.missing:
        return Cell("n/a", note=twin.missing)
    return twin


def _no_requests(http: FakeEndpoint, expected: int = 0) -> None:
    if http.post_count != expected:
        raise BenchCheckError(f"{http.post_count} token requests, expected {expected}")


async def _close_all(apps: Sequence[Any]) -> None:
    for app in apps:
        await app.close()


def _cached_users(size: int, ctx: Context) -> tuple[cachegen.UserCache, list[cachegen.User]]:
    cache = ctx.user_cache(size, cachegen.EXACT_TARGET)
    return cache, [cache.users[i] for i in spread(size, ctx.spread_count)]


def async_silent_hit(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``await acquire_token_silent`` per call: the inputs of ``silent_hit_exact``."""
    twin = _twin_or_na(lib)
    if isinstance(twin, Cell):
        return {"": twin}
    cache, picks = _cached_users(size, ctx)
    http = AsyncFakeHttpClient()
    scopes = list(EXACT_SCOPES)
    apps: list[Any] = []

    async def factory() -> AsyncCall:
        app = twin.public_app(twin.cache_from_json(cache.text_at(ctx.now())), http)
        apps.append(app)
        accounts = select_accounts(await app.get_accounts(), picks)
        for user, account in zip(picks, accounts, strict=True):  # every timed input
            result = await app.acquire_token_silent(scopes, account)
            expect_token(result, user.access_token, "cache")
        k = len(accounts)
        return lambda i: app.acquire_token_silent(scopes, accounts[i % k])

    try:
        measurement = measure_async(factory, ctx.settings)
    finally:
        asyncio.run(_close_all(apps))
    _no_requests(http)
    return {"": Cell.of(measurement)}


def async_1000_cached(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """Wall time of one ``asyncio.gather`` of 1,000 ``acquire_token_silent`` coroutines,
    cycling over the users of ``async_silent_hit``; every answer is a cache hit."""
    twin = _twin_or_na(lib)
    if isinstance(twin, Cell):
        return {"": twin}
    cache, picks = _cached_users(size, ctx)
    http = AsyncFakeHttpClient()
    scopes = list(EXACT_SCOPES)
    apps: list[Any] = []

    async def factory() -> AsyncCall:
        app = twin.public_app(twin.cache_from_json(cache.text_at(ctx.now())), http)
        apps.append(app)
        accounts = select_accounts(await app.get_accounts(), picks)
        k = len(accounts)

        def gather(_: int) -> Any:
            calls = (
                app.acquire_token_silent(scopes, accounts[j % k]) for j in range(CACHED_COROUTINES)
            )
            return asyncio.gather(*calls)

        for j, result in enumerate(await gather(0)):  # the timed answers, checked once
            expect_token(result, picks[j % k].access_token, "cache")
        return gather

    try:
        measurement = measure_async(factory, ctx.settings)
    finally:
        asyncio.run(_close_all(apps))
    _no_requests(http)
    return {"": Cell.of(measurement, note=f"{CACHED_COROUTINES:,} coroutines per gather")}


async def _expired_race(twin: Library, size: int, ctx: Context) -> tuple[int, int]:
    """One run: 100 coroutines ask at once for a token whose AT is expiring and whose
    RT is valid; returns (refresh requests sent, wall ns until all have it)."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    user = cache.users[cache.expiring[0]]
    http = AsyncFakeHttpClient(token_latency=ctx.token_latency, now=ctx.clock)
    http.refresh_body(user.refresh_token)
    app = twin.public_app(twin.cache_from_json(cache.text_at(ctx.now(), expiring_soon=True)), http)
    try:
        (account,) = select_accounts(await app.get_accounts(), [user])
        start = time.perf_counter_ns()
        results = await asyncio.gather(
            *(app.acquire_token_silent(["User.Read"], account) for _ in range(EXPIRED_COROUTINES))
        )
        elapsed = time.perf_counter_ns() - start
    finally:
        await app.close()
    for result in results:
        if (
            not isinstance(result, dict)
            or result.get("access_token") != f"at-refreshed-{user.index}"
        ):
            raise BenchCheckError("a coroutine did not get the refreshed token")
    return http.grant_counts().get("refresh_token", 0), elapsed


def async_100_expired(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """Token requests sent when 100 coroutines refresh one expired token at once
    (single flight sends one); the endpoint answers after ``ctx.token_latency``."""
    twin = _twin_or_na(lib)
    if isinstance(twin, Cell):
        return {"": twin}
    repeats = max(ctx.settings.min_repeats, min(ctx.settings.repeats, 5))
    outcomes = [asyncio.run(_expired_race(twin, size, ctx)) for _ in range(repeats)]
    counts = [count for count, _ in outcomes]
    wall_ms = statistics.median(wall for _, wall in outcomes) / 1e6
    note = (
        f"requests per run: {counts}; median wall {wall_ms:.3g} ms; "
        f"endpoint latency {ctx.token_latency * 1000:g} ms"
    )
    return {"": Cell("ok", statistics.median(counts), f"{repeats}x1", note)}


def _tokensmith_cc(twin: Library, ctx: Context) -> Cell:
    http = AsyncFakeHttpClient()
    app = twin.confidential_app(twin.cache_from_json(None), http)

    async def factory() -> AsyncCall:
        expect_token(await app.acquire_token_for_client([CC_SCOPE]), ISSUED_APP_TOKEN,
                     "identity_provider")  # fmt: skip
        expect_token(await app.acquire_token_for_client([CC_SCOPE]), ISSUED_APP_TOKEN, "cache")
        scopes = [CC_SCOPE]
        return lambda i: app.acquire_token_for_client(scopes)

    try:
        measurement = measure_async(factory, ctx.settings)
    finally:
        asyncio.run(_close_all([app]))
    _no_requests(http, expected=1)
    return Cell.of(measurement, note="one token in the cache, primed by a miss")


def _azure_identity_cc(ctx: Context) -> Cell:
    from bench.fakeazure import FakeAsyncTransport  # imports azure-core

    aio = importlib.import_module("azure.identity.aio")
    http = AsyncFakeHttpClient()
    credential = aio.ClientSecretCredential(
        cachegen.TENANT_ID,
        cachegen.CLIENT_ID,
        CLIENT_SECRET,
        authority=cachegen.ENVIRONMENT,
        transport=FakeAsyncTransport(http),
    )

    async def factory() -> AsyncCall:
        for _ in range(2):  # a miss answered by the fake, then a hit
            if (await credential.get_token(CC_SCOPE)).token != ISSUED_APP_TOKEN:
                raise BenchCheckError("azure-identity returned a different access token")
        _no_requests(http, expected=1)
        return lambda i: credential.get_token(CC_SCOPE)

    try:
        measurement = measure_async(factory, ctx.settings)
    finally:
        asyncio.run(_close_all([credential]))
    _no_requests(http, expected=1)
    return Cell.of(measurement, note="ClientSecretCredential.get_token, primed by a miss")


def async_cc_hit(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``await acquire_token_for_client([scope])`` on a token in the cache (tokensmith),
    and ``await ClientSecretCredential.get_token(scope)`` on its cached token
    (azure-identity): each primed by one miss answered by the fake endpoint."""
    if lib.name == AZURE_IDENTITY:
        return {"": _azure_identity_cc(ctx)}
    twin = _twin_or_na(lib)
    if isinstance(twin, Cell):
        return {"": twin}
    return {"": _tokensmith_cc(twin, ctx)}


SCENARIOS = (
    Scenario((SILENT,), async_silent_hit),
    Scenario((CACHED_1000,), async_1000_cached),
    Scenario((EXPIRED_100,), async_100_expired),
    Scenario(
        (CC_HIT,),
        async_cc_hit,
        sized=False,
        libraries=frozenset({MSAL, TOKENSMITH, AZURE_IDENTITY}),
    ),
)
