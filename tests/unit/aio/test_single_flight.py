"""Concurrent callers of the async applications, threads of sync ones, or both at once,
sharing one token cache: one token request for one missing token."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests._aio import BackgroundLoop
from tests.unit.aio.conftest import AUTHORITY, GRAPH, WAIT, Gate, flight_key, until, wait_until
from tests.unit.application.fake_entra import FakeEntra

import tokensmith
import tokensmith.aio
from tokensmith._clock import FakeClock
from tokensmith.cache import TokenCache
from tokensmith.engine import client_credentials, silent

USER_SCOPES = ["User.Read"]


def test_100_coroutines_missing_one_app_token_send_one_request(
    entra: FakeEntra, make_cca: Callable[..., Any]
) -> None:
    gate = Gate(entra.handle)
    app = make_cca(transport=gate.asynchronous())
    key = flight_key(
        client_credentials.acquire_token_for_client(app._ctx, GRAPH, None, {}), entra.transport
    )
    flight = app.token_cache.single_flight

    async def main() -> list[Any]:
        gate.close()
        tasks = [asyncio.create_task(app.acquire_token_for_client(GRAPH)) for _ in range(100)]
        await until(lambda: flight.waiters(key) == 99)
        gate.open()
        return await asyncio.wait_for(asyncio.gather(*tasks), WAIT)

    results = asyncio.run(main())
    assert entra.tokens_posted("client_credentials") == 1
    assert {r["access_token"] for r in results} == {"at-1"}


def test_100_coroutines_on_one_expired_user_token_send_one_refresh(
    entra: FakeEntra, clock: FakeClock, make_pca: Callable[..., Any]
) -> None:
    gate = Gate(entra.handle)
    app = make_pca(transport=gate.asynchronous())

    async def main() -> list[Any]:
        assert "access_token" in await app.acquire_token_by_refresh_token("rt-0", USER_SCOPES)
        [account] = await app.get_accounts()
        clock.advance(2 * entra.expires_in)
        before = entra.tokens_posted("refresh_token")
        key = flight_key(
            silent.acquire_token_silent(app._ctx, USER_SCOPES, account, None, False, None, {}),
            entra.transport,
        )
        gate.close()
        calls = [app.acquire_token_silent(USER_SCOPES, account) for _ in range(100)]
        tasks = [asyncio.create_task(call) for call in calls]
        await until(lambda: app.token_cache.single_flight.waiters(key) == 99)
        gate.open()
        results = await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
        assert entra.tokens_posted("refresh_token") == before + 1
        return results

    results = asyncio.run(main())
    assert len({r["access_token"] for r in results}) == 1
    assert {r["token_source"] for r in results} == {"identity_provider"}


def test_threads_and_coroutines_on_two_loops_share_one_flight(
    entra: FakeEntra, clock: FakeClock
) -> None:
    gate = Gate(entra.handle)
    cache = TokenCache()
    options: dict[str, Any] = {"authority": AUTHORITY, "token_cache": cache, "clock": clock}
    sync_app = tokensmith.ConfidentialClientApplication(
        "cca-client", "s3cret", transport=gate.sync(), **options
    )
    loops = [BackgroundLoop(timeout=WAIT), BackgroundLoop(timeout=WAIT)]
    async_apps = [
        tokensmith.aio.ConfidentialClientApplication(
            "cca-client", "s3cret", transport=gate.asynchronous(), **options
        )
        for _ in loops
    ]
    key = flight_key(
        client_credentials.acquire_token_for_client(sync_app._ctx, GRAPH, None, {}),
        entra.transport,
    )

    async def eight(app: Any) -> list[Any]:
        return list(await asyncio.gather(*(app.acquire_token_for_client(GRAPH) for _ in range(8))))

    gate.close()
    try:
        with ThreadPoolExecutor(16) as pool:
            threads = [pool.submit(sync_app.acquire_token_for_client, GRAPH) for _ in range(16)]
            coroutines = [
                asyncio.run_coroutine_threadsafe(eight(app), loop.loop)
                for app, loop in zip(async_apps, loops, strict=True)
            ]
            wait_until(lambda: cache.single_flight.waiters(key) == 31)
            gate.open()
            results = [f.result(WAIT) for f in threads]
            results += [r for f in coroutines for r in f.result(WAIT)]
    finally:
        gate.open()
        for app, loop in zip(async_apps, loops, strict=True):
            loop.call(app.close())
            loop.close()
        sync_app.close()
    assert len(results) == 32
    assert entra.tokens_posted("client_credentials") == 1
    assert {r["access_token"] for r in results} == {"at-1"}


def test_two_apps_sharing_a_cache_do_not_share_a_flight(
    entra: FakeEntra, make_cca: Callable[..., Any]
) -> None:
    """Concurrent app-only requests of two different clients over one cache: each
    client gets a token issued to itself."""
    gate = Gate(entra.handle)
    cache = TokenCache()
    one = make_cca("client-one", transport=gate.asynchronous(), token_cache=cache)
    two = make_cca("client-two", transport=gate.asynchronous(), token_cache=cache)

    key = flight_key(
        client_credentials.acquire_token_for_client(one._ctx, GRAPH, None, {}), entra.transport
    )
    flight = cache.single_flight

    async def main() -> list[Any]:
        gate.close()
        tasks = [asyncio.create_task(app.acquire_token_for_client(GRAPH)) for app in (one, two)]
        # both are waiting: in two flights (right), or the second behind the first
        await until(lambda: flight.in_flight() == 2 or flight.waiters(key) == 1)
        gate.open()
        return list(await asyncio.wait_for(asyncio.gather(*tasks), WAIT))

    first, second = asyncio.run(main())
    assert sorted(f["client_id"] for f in entra.token_requests) == ["client-one", "client-two"]
    assert first["access_token"] != second["access_token"]
