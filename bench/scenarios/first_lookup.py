"""The first lookup after a load: what a short-lived process (a CLI, a web request
with a session cache) pays once it has deserialized a cache.

Each timed call is the first call of its kind on a freshly deserialized cache and a
fresh app, made right after that load (untimed), as a program makes it: one call per
repeat, so lazy work done on first use (tokensmith builds the one index the lookup
needs) is in the figure, and the JSON parse, which both libraries pay alike, is not
(see the ``deserialize`` rows). Loads prepared several at a time would leave the older
ones cold by their turn (and make each call pay for collections over all of them).

One tokensmith-only row builds every index at once (``build_indexes()``, what all the
lazy builds together cost) beside ``json.loads`` of the same text, whose time and the
ratio its note gives; it times one build per repeat, each right after its own load.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bench import cachegen
from bench.fakehttp import FakeHttpClient
from bench.libs import TOKENSMITH, Library
from bench.scenarios.base import BenchCheckError, Cell, Context, Row, Scenario, expect_token
from bench.timing import Call, measure

__all__ = ["SCENARIOS"]

FIRST_SILENT = Row("load_first_lookup", "after a load: first silent hit")
FIRST_ACCOUNTS = Row("load_first_accounts", "after a load: first get_accounts()")
FIRST_CC = Row("load_first_cc", "after a load: first client-credentials hit")
BUILD_ALL = Row("load_build_indexes", "after a load: build every index (vs json.loads)")

_LOADS_BUDGET = 30_000
"""Users loaded per configured repeat (a 10k-user cache: three loads, each its own
repeat)."""


def _loads(size: int) -> int:
    return max(3, min(20, _LOADS_BUDGET // size))


def _first_calls(
    size: int, ctx: Context, prepare: Callable[[], Callable[[], object]]
) -> Mapping[str, Cell]:
    """Time ``call()`` once per repeat, right after its own ``prepare()`` (untimed);
    :func:`_loads` repeats per configured one, so small caches get more samples."""
    settings = replace(ctx.settings, repeats=ctx.settings.repeats * _loads(size))

    def factory() -> Call:
        # the previous repeat's app goes first: MSAL's are reference cycles, which the
        # collector would free too late (at 100,000 users each load holds 0.5 GB)
        gc.collect()
        call = prepare()
        return lambda i: call()

    measured = measure(factory, settings, fresh_state_per_repeat=True, max_iterations=1)
    return {"": Cell.of(measured)}


def _account_of(user: cachegen.User) -> dict[str, Any]:
    """The account dict get_accounts() gives (as an app keeps it between runs)."""
    return {
        "home_account_id": user.home_account_id,
        "environment": cachegen.ENVIRONMENT,
        "username": user.username,
        "authority_type": "MSSTS",
        "local_account_id": user.uid,
        "realm": cachegen.TENANT_ID,
        "account_source": None,
    }


def first_silent(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_silent(["User.Read"]) of the middle user, first call after a load."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    user = cache.users[size // 2]
    account = _account_of(user)
    http = FakeHttpClient()

    def prepare() -> Callable[[], object]:
        app = lib.public_app(lib.cache_from_json(cache.text_at(ctx.now())), http)

        def call() -> object:
            result = app.acquire_token_silent(["User.Read"], account)
            expect_token(result, user.access_token, "cache")
            return result

        return call

    cells = _first_calls(size, ctx, prepare)
    if http.post_count:
        raise BenchCheckError(f"{http.post_count} token requests during cache hits")
    return cells


def first_accounts(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """get_accounts(), first call after a load."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    http = FakeHttpClient()

    def prepare() -> Callable[[], object]:
        app = lib.public_app(lib.cache_from_json(cache.text_at(ctx.now())), http)

        def call() -> object:
            found = app.get_accounts()
            if len(found) != size:
                raise BenchCheckError(f"get_accounts() found {len(found)} of {size}")
            return found

        return call

    return _first_calls(size, ctx, prepare)


def first_cc(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_for_client for one of ``size`` cached resources, first call after
    a load."""
    cache = ctx.app_cache(size)
    index = size // 2
    http = FakeHttpClient()

    def prepare() -> Callable[[], object]:
        app = lib.confidential_app(lib.cache_from_json(cache.text), http)

        def call() -> object:
            result = app.acquire_token_for_client([cache.scopes[index]])
            expect_token(result, cache.secrets[index], "cache")
            return result

        return call

    cells = _first_calls(size, ctx, prepare)
    if http.post_count:
        raise BenchCheckError(f"{http.post_count} token requests during cache hits")
    return cells


def build_all(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``build_indexes()`` on a user cache deserialized just before it (untimed), as a
    program builds it after its load; the note gives ``json.loads`` of the same text,
    timed alike. Each repeat times one call on its own load: preparing several loads
    first would time the builds on the older, colder ones (at 100,000 users each load
    holds about 1 GB), and a parsed document is kept until the next repeat, so that
    freeing it is not in the parse's figure."""
    text = ctx.user_cache(size, cachegen.SUBSET_TARGET).text_at(ctx.now())

    def one_load() -> Call:
        gc.collect()  # (the previous repeat's load was released just before)
        build = lib.cache_from_json(text).build_indexes
        return lambda i: build()

    built = measure(one_load, ctx.settings, fresh_state_per_repeat=True, max_iterations=1)

    def one_parse() -> Call:
        gc.collect()
        kept: list[object] = []
        return lambda i: kept.append(json.loads(text))

    parse = measure(one_parse, ctx.settings, fresh_state_per_repeat=True, max_iterations=1)
    ratio = built.median_ns / parse.median_ns
    note = f"json.loads {parse.median_ns / 1e6:.1f} ms ({parse.runs}); build / parse = {ratio:.2f}"
    return {"": Cell.of(built, note)}


SCENARIOS = (
    Scenario((FIRST_SILENT,), first_silent),
    Scenario((FIRST_ACCOUNTS,), first_accounts),
    Scenario((FIRST_CC,), first_cc),
    Scenario((BUILD_ALL,), build_all, libraries=frozenset({TOKENSMITH})),
)
