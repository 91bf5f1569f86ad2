"""The one cache-first path: every acquisition that may be answered from the cache
(silent, client credentials, on-behalf-of; managed identity later) goes through
:func:`cache_first`, with the same rules, the same single flight and the same fallback.

1. Unless forced, the cached token's state is computed once (:func:`token_state`):
   ``FRESH`` is served at once (as a :class:`~tokensmith.protocol.effects.Done` flow
   when the cache realm is known, so a hit costs no generator); ``REFRESH_DUE`` is
   kept as the fallback.
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

from collections.abc import Hashable
from typing import Any, Protocol

from tokensmith.engine.context import AppContext, AuthorityHandle, realm_of
from tokensmith.engine.results import TokenResult, cache_hit_result
from tokensmith.engine.state import FORCED, REFRESH_REASONS, TokenState, assess
from tokensmith.errors import MsalServiceError, TransportError
from tokensmith.protocol.effects import Done, Flow, Shared

__all__ = ["CacheFirstRequest", "cache_first"]

_FRESH = TokenState.FRESH


class CacheFirstRequest(Protocol):
    """What one cache-first acquisition knows how to do."""

    handle: AuthorityHandle

    def lookup(self, realm: str, now: float) -> dict[str, Any] | None:
        """The cached AccessToken of this request, or None."""
        ...

    def flight_key(self, realm: str) -> Hashable:
        """What identifies this request among concurrent ones (same key: one fetch).
        It names everything the lookup filters on, the client id included: two apps
        sharing one cache never share a fetch."""
        ...

    def fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        """Obtain the token from the provider (given MSAL's telemetry refresh reason)
        and write it back; None when there is nothing to obtain it with."""
        ...


def cache_first(
    ctx: AppContext, request: CacheFirstRequest, *, force: bool
) -> Flow[TokenResult | None]:
    """Serve ``request`` from the cache, or obtain its token once for all concurrent
    callers of its flight key (see the module doc).

    Raises:
        TransportError, MsalServiceError: (from the flow) the provider failed and no
            usable token is cached.
    """
    handle = request.handle
    realm = handle.known_realm or handle.realm
    if realm is None:  # the realm needs discovery: everything happens in the flow
        return _discover_first(ctx, request, force)
    if force:
        return _obtain(ctx, request, realm, None, FORCED, force)
    now = ctx.clock()
    entry = request.lookup(realm, now)
    state, expires_on = assess(entry, now)
    if entry is None:
        return _obtain(ctx, request, realm, None, REFRESH_REASONS[state], force)
    if state is _FRESH:
        return Done(cache_hit_result(entry, now, expires_on))
    fallback = cache_hit_result(entry, now, expires_on) if state is TokenState.REFRESH_DUE else None
    return _obtain(ctx, request, realm, fallback, REFRESH_REASONS[state], force)


def _discover_first(
    ctx: AppContext, request: CacheFirstRequest, force: bool
) -> Flow[TokenResult | None]:
    yield from realm_of(request.handle)
    return (yield from cache_first(ctx, request, force=force))


def _obtain(
    ctx: AppContext,
    request: CacheFirstRequest,
    realm: str,
    fallback: TokenResult | None,
    reason: int,
    force: bool,
) -> Flow[TokenResult | None]:
    try:
        result: TokenResult | None = yield Shared(  # not shared(): one generator less
            ctx.cache.single_flight,
            request.flight_key(realm),
            lambda: _lead(ctx, request, realm, reason, force),
        )
    except (TransportError, MsalServiceError):
        if fallback is None:
            raise
        return fallback
    if fallback is not None and (result is None or "error" in result):
        return fallback
    return result


def _lead(
    ctx: AppContext, request: CacheFirstRequest, realm: str, reason: int, force: bool
) -> Flow[TokenResult | None]:
    if not force:
        now = ctx.clock()
        entry = request.lookup(realm, now)  # another caller may have just obtained it
        state, expires_on = assess(entry, now)
        if entry is not None and state is TokenState.FRESH:
            return cache_hit_result(entry, now, expires_on)
    return (yield from request.fetch(realm, reason))
