"""The async applications' waits await: device-code polling and the interactive
sign-in's loopback listener leave the event loop free, and cancelling them stops the
polling or closes the listener."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.unit.aio.conftest import until
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.application.test_interactive import StandInBrowser, params_of, signs_in

from tokensmith._clock import FakeClock
from tokensmith.transport.mock import json_response

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPES = ["User.Read"]


class Ticker:
    """A coroutine that counts while it gets to run: proof the loop is not blocked."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.001)


def test_device_code_polling_awaits_and_stops_when_cancelled(
    entra: FakeEntra, clock: FakeClock, make_pca: Callable[..., Any]
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # an awaiting sleep on the fake clock
        slept.append(seconds)
        clock.advance(seconds)
        await asyncio.sleep(0.002)

    pending = {"error": "authorization_pending", "error_description": "AADSTS70016: pending"}
    entra.token_handler = lambda form: json_response(pending, 400)
    app = make_pca(sleep=sleep)

    async def main() -> None:
        flow = await app.initiate_device_flow(SCOPES)
        ticker = Ticker()
        ticking = asyncio.create_task(ticker.run())
        polling = asyncio.create_task(app.acquire_token_by_device_flow(flow))
        await until(lambda: entra.tokens_posted(DEVICE_GRANT) >= 3)
        ticks_while_polling = ticker.ticks
        polling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await polling
        polls = entra.tokens_posted(DEVICE_GRANT)
        await asyncio.sleep(0.05)  # several would-be poll intervals on the fake clock
        assert entra.tokens_posted(DEVICE_GRANT) == polls, "still polling after cancel"
        ticking.cancel()
        assert ticks_while_polling > 3, "the loop was blocked while polling"

    asyncio.run(main())
    assert slept and sum(slept) >= 2 * 5  # waited the interval between polls


class LateBrowser(StandInBrowser):
    """Takes the address and answers only when the test says so."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        return True


@pytest.fixture
def late_browser(entra: FakeEntra) -> LateBrowser:
    import webbrowser

    stand_in = LateBrowser(entra, signs_in)
    webbrowser.register(stand_in.name, None, stand_in)
    return stand_in


def test_interactive_sign_in_awaits_the_listener(
    make_pca: Callable[..., Any], late_browser: LateBrowser
) -> None:
    app = make_pca()

    async def main() -> Any:
        ticker = Ticker()
        ticking = asyncio.create_task(ticker.run())
        signing_in = asyncio.create_task(
            app.acquire_token_interactive(SCOPES, timeout=10, browser_name=late_browser.name)
        )
        await until(lambda: bool(late_browser.opened))
        before = ticker.ticks
        await asyncio.sleep(0.05)
        assert ticker.ticks > before + 3, "the loop was blocked while waiting"
        assert not signing_in.done()
        await asyncio.to_thread(late_browser.answer, late_browser.opened[0])
        result = await asyncio.wait_for(signing_in, 10)
        ticking.cancel()
        return result

    result = asyncio.run(main())
    assert result.get("token_source") == "identity_provider", result
    assert asyncio.run(app.get_accounts())[0]["username"] == "ada@contoso.example"


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_cancelling_the_interactive_sign_in_closes_the_listener(
    make_pca: Callable[..., Any], late_browser: LateBrowser
) -> None:
    app = make_pca()

    async def main() -> int:
        signing_in = asyncio.create_task(
            app.acquire_token_interactive(SCOPES, timeout=10, browser_name=late_browser.name)
        )
        await until(lambda: bool(late_browser.opened))
        port = urlsplit(params_of(late_browser.opened[0])["redirect_uri"]).port
        assert port is not None
        assert not _port_is_free(port)  # the listener is there
        signing_in.cancel()
        with pytest.raises(asyncio.CancelledError):
            await signing_in
        return port

    port = asyncio.run(main())
    assert _port_is_free(port)
