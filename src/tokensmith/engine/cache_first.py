"""The one cache-first path: every acquisition that may be answered from the cache
(silent, client credentials, on-behalf-of; managed identity later) goes through
:func:`cache_first`, with the same rules, the same single flight and the same fallback.

1. Unless forced, the cached token's state is computed once (:func:`token_state`):
   ``FRESH`` is served at once; ``REFRESH_DUE`` is kept as the fallback.
2. The token request runs under the cache's single flight, keyed by the request:
   concurrent callers (threads and coroutines, any mix) send one request and share
   its result.
3. The caller that leads the flight looks the token up again first: another caller
   may have obtained it between step 1 and now, in which case no request is sent.
4. The fetch writes back through :func:`~tokensmith.engine.token_call.record`. When it
   fails (an error dict, an unreachable or failing provider) and the cached token is
   still usable (``REFRESH_DUE``), that token is served instead.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from tokensmith.engine.context import AppContext
from tokensmith.engine.results import TokenResult, cache_hit_result
from tokensmith.engine.state import FORCED, REFRESH_REASONS, TokenState, token_state
from tokensmith.errors import MsalServiceError, TransportError
from tokensmith.protocol.effects import Flow, shared

__all__ = ["Fetch", "Lookup", "cache_first"]

Lookup = Callable[[float], "dict[str, Any] | None"]
"""Finds the cached AccessToken of the request at a time (epoch seconds), or None."""

Fetch = Callable[[int], Flow[TokenResult | None]]
"""Obtains a token from the provider, given MSAL's telemetry refresh reason, and
writes it back; None when there is nothing to obtain it with (no refresh token)."""


def cache_first(
    ctx: AppContext, key: Hashable, lookup: Lookup, fetch: Fetch, *, force: bool
) -> Flow[TokenResult | None]:
    """Serve the request from the cache, or obtain its token once for all concurrent
    callers of ``key`` (see the module doc).

    Raises:
        TransportError, MsalServiceError: the provider failed and no usable token is
            cached.
    """
    fallback: TokenResult | None = None
    reason = FORCED
    if not force:
        now = ctx.clock()
        entry = lookup(now)
        state = token_state(entry, now)
        if entry is not None:
            if state is TokenState.FRESH:
                return cache_hit_result(entry, now)
            if state is TokenState.REFRESH_DUE:
                fallback = cache_hit_result(entry, now)
        reason = REFRESH_REASONS[state]
    try:
        result = yield from shared(
            ctx.cache.single_flight, key, lambda: _lead(ctx, lookup, fetch, reason, force)
        )
    except (TransportError, MsalServiceError):
        if fallback is None:
            raise
        return fallback
    if fallback is not None and (result is None or "error" in result):
        return fallback
    return result


def _lead(
    ctx: AppContext, lookup: Lookup, fetch: Fetch, reason: int, force: bool
) -> Flow[TokenResult | None]:
    if not force:
        now = ctx.clock()
        entry = lookup(now)
        if entry is not None and token_state(entry, now) is TokenState.FRESH:
            return cache_hit_result(entry, now)
    return (yield from fetch(reason))
