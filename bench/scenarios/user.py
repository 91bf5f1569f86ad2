"""Public-client scenarios: silent hits, the silent refresh path, get_accounts.

The cache holds ``size`` users of one app and tenant (see :mod:`bench.cachegen`).
Calls cycle through accounts spread evenly over the cache's insertion order, so a
library that scans the cache pays its average scan, not its best case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench import cachegen
from bench.fakehttp import FakeHttpClient
from bench.libs import Library
from bench.scenarios.base import (
    BenchCheckError,
    Cell,
    Context,
    Row,
    Scenario,
    accounts_by_home_id,
    expect_token,
    spread,
    warm_up_lookups,
)
from bench.timing import CPU, Call, measure

__all__ = ["SCENARIOS"]

SILENT_EXACT = Row("silent_hit_exact", "silent hit, exact cached scopes")
SILENT_SUBSET = Row("silent_hit_subset", "silent hit, subset of cached scopes")
SILENT_REFRESH = Row("silent_refresh_cpu", "silent refresh path (CPU, AT expired)")
ACCOUNTS_ALL = Row("get_accounts", "get_accounts()")
ACCOUNTS_ONE = Row("get_accounts_username", "get_accounts(username=...)")


def _no_requests(http: FakeHttpClient) -> None:
    if http.post_count:
        raise BenchCheckError(f"{http.post_count} token requests during a cache-only scenario")


def _silent_hit(
    lib: Library, size: int, ctx: Context, target: str, scopes: list[str]
) -> Mapping[str, Cell]:
    cache = ctx.user_cache(size, target)
    picks = [cache.users[i] for i in spread(size, ctx.spread_count)]
    http = FakeHttpClient()

    def factory() -> Call:
        app = lib.public_app(lib.cache_from_json(cache.text_at(ctx.now())), http)
        accounts = accounts_by_home_id(app, picks)
        for user, account in zip(picks, accounts, strict=True):  # every timed input
            expect_token(app.acquire_token_silent(scopes, account), user.access_token, "cache")
        k = len(accounts)
        return lambda i: app.acquire_token_silent(scopes, accounts[i % k])

    measurement = measure(factory, ctx.settings)
    _no_requests(http)
    return {"": Cell.of(measurement)}


def silent_hit_exact(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_silent for exactly the scopes stored on the AT (MSAL's O(1) path)."""
    return _silent_hit(lib, size, ctx, cachegen.EXACT_TARGET, ["User.Read", "Mail.Read"])


def silent_hit_subset(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_silent(["User.Read"]) against ATs stored with reserved scopes too."""
    return _silent_hit(lib, size, ctx, cachegen.SUBSET_TARGET, ["User.Read"])


def silent_refresh(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_silent where the AT is about to expire and the RT is valid.

    Every repeat reloads the cache so each call refreshes a different, untouched user;
    the in-process token endpoint has its answers prepared beforehand, so the CPU time
    measured is the library's (plus a dictionary lookup in the fake).
    """
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    users = [cache.users[i] for i in cache.expiring]
    http = FakeHttpClient(now=ctx.clock)
    for user in users:
        http.refresh_body(user.refresh_token)
    calls = [0]

    def factory() -> Call:
        text = cache.text_at(ctx.now(), expiring_soon=True)
        app = lib.public_app(lib.cache_from_json(text), http)
        warm_up_lookups(app, users[0])
        accounts = accounts_by_home_id(app, users)

        def call(i: int) -> Any:
            result = app.acquire_token_silent(["User.Read"], accounts[i])
            expect_token(result, f"at-refreshed-{users[i].index}", "identity_provider")
            calls[0] += 1
            return result

        return call

    measurement = measure(
        factory, ctx.settings, clock=CPU, fresh_state_per_repeat=True, max_iterations=len(users)
    )
    sent = http.grant_counts().get("refresh_token", 0)
    if sent != calls[0]:
        raise BenchCheckError(f"{calls[0]} refreshes but {sent} refresh-token requests")
    return {"": Cell.of(measurement)}


def get_accounts(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """get_accounts() returning all ``size`` accounts."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    http = FakeHttpClient()

    def factory() -> Call:
        app = lib.public_app(lib.cache_from_json(cache.text_at(ctx.now())), http)
        count = len(app.get_accounts())
        if count != size:
            raise BenchCheckError(f"get_accounts() returned {count} accounts, not {size}")
        return lambda i: app.get_accounts()

    return {"": Cell.of(measure(factory, ctx.settings))}


def get_accounts_username(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """get_accounts(username=...) for usernames spread over the cache."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    picks = [cache.users[i] for i in spread(size, ctx.spread_count)]
    names = [user.username.upper() for user in picks]  # matching is case-insensitive
    http = FakeHttpClient()

    def factory() -> Call:
        app = lib.public_app(lib.cache_from_json(cache.text_at(ctx.now())), http)
        found = app.get_accounts(username=names[-1])
        if [a.get("home_account_id") for a in found] != [picks[-1].home_account_id]:
            raise BenchCheckError("get_accounts(username=...) did not return exactly that user")
        k = len(names)
        return lambda i: app.get_accounts(username=names[i % k])

    return {"": Cell.of(measure(factory, ctx.settings))}


SCENARIOS = (
    Scenario((SILENT_EXACT,), silent_hit_exact),
    Scenario((SILENT_SUBSET,), silent_hit_subset),
    Scenario((SILENT_REFRESH,), silent_refresh),
    Scenario((ACCOUNTS_ALL,), get_accounts),
    Scenario((ACCOUNTS_ONE,), get_accounts_username),
)
