"""tokensmith.aio runs the same broker flows (the broker call in a worker thread)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.unit.application.fake_entra import TENANT, FakeEntra
from tests.unit.broker.fake_backend import FakeBroker

import tokensmith.aio
from tokensmith._clock import FakeClock
from tokensmith.transport.base import HttpRequest, HttpResponse


class _Async:
    def __init__(self, entra: FakeEntra) -> None:
        self.entra = entra

    async def send(self, request: HttpRequest) -> HttpResponse:
        return self.entra.handle(request)

    async def aclose(self) -> None:
        pass


def test_async_interactive_silent_and_sign_out(
    entra: FakeEntra, clock: FakeClock, fake: FakeBroker
) -> None:
    threads: list[str] = []
    original = fake.sign_in_silently

    def recording(request: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(request)

    fake.sign_in_silently = recording  # type: ignore[method-assign]

    async def scenario() -> None:
        app = tokensmith.aio.PublicClientApplication(
            "pca-client",
            authority=f"https://login.microsoftonline.com/{TENANT}",
            enable_broker_on_linux=True,
            broker_backend=fake,
            transport=_Async(entra),
            clock=clock,
        )
        console = app.CONSOLE_WINDOW_HANDLE
        result = await app.acquire_token_interactive(["s"], parent_window_handle=console)
        assert result["token_source"] == "broker"
        [account] = await app.get_accounts()
        forced = await app.acquire_token_silent(["s"], account, force_refresh=True)
        assert forced is not None and forced["token_source"] == "broker"
        await app.remove_account(account)
        await app.close()

    asyncio.run(scenario())
    assert threads and threads[0] != threading.main_thread().name  # not on the loop
    assert fake.names()[-3:] == ["read_account", "sign_out", "close"]
