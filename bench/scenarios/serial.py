"""Serializing and deserializing the whole user cache (one call = the whole cache)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from bench import cachegen
from bench.fakehttp import FakeHttpClient
from bench.libs import Library
from bench.scenarios.base import BenchCheckError, Cell, Context, Row, Scenario
from bench.timing import Call, measure

__all__ = ["SCENARIOS"]

SERIALIZE = Row("serialize", "serialize() whole cache")
DESERIALIZE = Row("deserialize", "deserialize() whole cache")
LOAD_AND_FIND = Row("deserialize_first_lookup", "deserialize() + first get_accounts(username)")


def serialize(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``cache.serialize()`` of a cache of ``size`` users."""
    text = ctx.user_cache(size, cachegen.SUBSET_TARGET).text_at(ctx.now())

    def factory() -> Call:
        cache = lib.cache_from_json(text)
        accounts = json.loads(cache.serialize()).get("Account", {})
        if len(accounts) != size:
            raise BenchCheckError(f"serialize() kept {len(accounts)} of {size} accounts")
        return lambda i: cache.serialize()

    return {"": Cell.of(measure(factory, ctx.settings))}


def deserialize(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``cache.deserialize(text)`` of the JSON text of ``size`` users."""
    text = ctx.user_cache(size, cachegen.SUBSET_TARGET).text_at(ctx.now())
    caches = []

    def factory() -> Call:
        cache = lib.cache_from_json(None)
        caches.append(cache)
        return lambda i: cache.deserialize(text)

    measurement = measure(factory, ctx.settings)
    app = lib.public_app(caches[-1], FakeHttpClient())
    count = len(app.get_accounts())
    if count != size:
        raise BenchCheckError(f"after deserialize(), get_accounts() found {count} of {size}")
    return {"": Cell.of(measurement)}


def deserialize_then_lookup(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``deserialize(text)`` followed by the first lookup, which pays for any lazy work
    (tokensmith builds its indexes there), on a fresh cache and app each call."""
    cache_data = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    text = cache_data.text_at(ctx.now())
    username = cache_data.users[size // 2].username
    http = FakeHttpClient()

    def factory() -> Call:
        def call(i: int) -> object:
            cache = lib.cache_from_json(None)
            cache.deserialize(text)
            found = lib.public_app(cache, http).get_accounts(username=username)
            if len(found) != 1:
                raise BenchCheckError(f"get_accounts(username) found {len(found)} accounts")
            return found

        return call

    return {"": Cell.of(measure(factory, ctx.settings))}


SCENARIOS = (
    Scenario((SERIALIZE,), serialize),
    Scenario((DESERIALIZE,), deserialize),
    Scenario((LOAD_AND_FIND,), deserialize_then_lookup),
)
