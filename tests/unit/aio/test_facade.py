"""The async applications against FakeEntra: one cache shared with sync applications,
``async with`` closing the transport, and errors surfacing as in the sync façade."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.aio.conftest import AUTHORITY, GRAPH
from tests.unit.application.fake_entra import FakeEntra

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.cache import TokenCache
from tokensmith.errors import TransportError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import AsyncMockTransport, MockTransport, json_response

OTHER = ["api://other/.default"]


def _sync_cca(entra: FakeEntra, clock: FakeClock, cache: TokenCache) -> Any:
    return tokensmith.ConfidentialClientApplication(
        "cca-client",
        "s3cret",
        authority=AUTHORITY,
        token_cache=cache,
        transport=entra.transport,
        clock=clock,
        sleep=clock.sleep,
    )


def test_sync_and_async_apps_sharing_a_cache_serve_each_others_tokens(
    entra: FakeEntra, clock: FakeClock, make_cca: Callable[..., Any]
) -> None:
    cache = TokenCache()
    sync_app = _sync_cca(entra, clock, cache)
    async_app = make_cca(token_cache=cache)

    by_sync = sync_app.acquire_token_for_client(GRAPH)
    assert by_sync["token_source"] == "identity_provider"
    served = asyncio.run(async_app.acquire_token_for_client(GRAPH))
    assert served["token_source"] == "cache"
    assert served["access_token"] == by_sync["access_token"]

    by_async = asyncio.run(async_app.acquire_token_for_client(OTHER))
    assert by_async["token_source"] == "identity_provider"
    back = sync_app.acquire_token_for_client(OTHER)
    assert back["token_source"] == "cache"
    assert back["access_token"] == by_async["access_token"]
    assert entra.tokens_posted() == 2


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_async_with_closes_the_transport(
    entra: FakeEntra, make_cca: Callable[..., Any], kind: str
) -> None:
    transport: Any = AsyncMockTransport(entra.handle) if kind == "async" else entra.transport

    async def main() -> None:
        async with make_cca(transport=transport) as app:
            assert "access_token" in await app.acquire_token_for_client(GRAPH)
            assert not transport.closed

    asyncio.run(main())
    assert transport.closed


def test_close_before_any_call_is_harmless(make_cca: Callable[..., Any]) -> None:
    asyncio.run(make_cca().close())


def _both(
    entra: FakeEntra,
    clock: FakeClock,
    make_cca: Callable[..., Any],
    transports: tuple[MockTransport, AsyncMockTransport] | None = None,
) -> tuple[Any, Any]:
    """A sync and an async application, over FakeEntra or the given transports."""
    sync_transport, async_transport = transports or (
        entra.transport,
        AsyncMockTransport(entra.handle),
    )
    sync_app = tokensmith.ConfidentialClientApplication(
        "cca-client",
        "s3cret",
        authority=AUTHORITY,
        transport=sync_transport,
        clock=clock,
        sleep=clock.sleep,
    )
    return sync_app, make_cca(transport=async_transport)


@pytest.mark.parametrize("scopes", ["https://graph.microsoft.com/.default", None, 42])
def test_bad_scopes_raise_value_error_in_both(
    entra: FakeEntra, clock: FakeClock, make_cca: Callable[..., Any], scopes: Any
) -> None:
    sync_app, async_app = _both(entra, clock, make_cca)
    with pytest.raises(ValueError) as in_sync:
        sync_app.acquire_token_for_client(scopes)
    with pytest.raises(ValueError) as in_async:
        asyncio.run(async_app.acquire_token_for_client(scopes))
    assert type(in_async.value) is type(in_sync.value)
    assert str(in_async.value) == str(in_sync.value)


def test_force_refresh_is_refused_in_both(
    entra: FakeEntra, clock: FakeClock, make_cca: Callable[..., Any]
) -> None:
    sync_app, async_app = _both(entra, clock, make_cca)
    with pytest.raises(ValueError, match="force_refresh"):
        sync_app.acquire_token_for_client(GRAPH, force_refresh=True)
    with pytest.raises(ValueError, match="force_refresh"):
        asyncio.run(async_app.acquire_token_for_client(GRAPH, force_refresh=True))


def test_an_unreachable_provider_raises_transport_error_in_both(
    entra: FakeEntra, clock: FakeClock, make_cca: Callable[..., Any]
) -> None:
    def unreachable(request: HttpRequest) -> HttpResponse:
        if request.url.endswith("/token"):
            raise TransportError("connection refused")
        return entra.handle(request)

    sync_transport, async_transport = MockTransport(unreachable), AsyncMockTransport(unreachable)
    sync_app, async_app = _both(entra, clock, make_cca, (sync_transport, async_transport))
    with pytest.raises(TransportError) as in_sync:
        sync_app.acquire_token_for_client(GRAPH)
    with pytest.raises(TransportError) as in_async:
        asyncio.run(async_app.acquire_token_for_client(GRAPH))
    assert type(in_async.value) is type(in_sync.value)
    tries = [r for r in sync_transport.requests if r.url.endswith("/token")]
    assert len([r for r in async_transport.requests if r.url.endswith("/token")]) == len(tries)


def test_a_provider_error_is_the_same_dict_in_both(
    entra: FakeEntra, clock: FakeClock, make_cca: Callable[..., Any]
) -> None:
    sync_app, async_app = _both(entra, clock, make_cca)
    refuse = {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}
    entra.token_handler = lambda form: json_response(refuse, 401)
    in_sync = sync_app.acquire_token_for_client(GRAPH)
    in_async = asyncio.run(async_app.acquire_token_for_client(GRAPH))
    assert in_async == in_sync
    assert in_async["error"] == "invalid_client"
