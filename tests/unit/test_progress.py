"""tokensmith.progress: a library caller sees the waits for a person (device-code
polling with the time left, the browser sign-in with its address) through
on_progress(callback), sync and async, against the dev IdP; the flows print nothing."""

from __future__ import annotations

import asyncio
import itertools
import webbrowser
from collections.abc import Iterator

import pytest

import tokensmith
import tokensmith.aio
from tokensmith.devidp import DEFAULT_CONFIG_TOML, DevIdP, parse_config
from tokensmith.devidp._toml import loads
from tokensmith.progress import Waiting, on_progress

DESKTOP = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
ADA = "ada@contoso.onmicrosoft.com"
_names = itertools.count()


@pytest.fixture(scope="module")
def idp() -> Iterator[DevIdP]:
    text = DEFAULT_CONFIG_TOML.replace("device_code_interval = 5", "device_code_interval = 1")
    with DevIdP(parse_config(loads(text))) as running:
        yield running


def _approving(idp: DevIdP, flow: dict[str, object], seen: list[Waiting]) -> object:
    def callback(event: Waiting) -> None:
        seen.append(event)
        if len(seen) == 2:  # the person finishes after a couple of seconds
            idp.approve_device(str(flow["user_code"]), ADA)

    return callback


def test_device_code_polling_reports_the_time_left(
    idp: DevIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tokensmith.PublicClientApplication(
        DESKTOP, authority=idp.authority(), verify=str(idp.ca_path)
    )
    flow = app.initiate_device_flow(["User.Read"])
    seen: list[Waiting] = []
    with on_progress(_approving(idp, flow, seen)):  # type: ignore[arg-type]
        result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert len(seen) >= 2 and {e.kind for e in seen} == {"device_code"}
    lefts = [e.seconds_left for e in seen]
    assert all(left is not None and 0 < left <= 900 for left in lefts)
    assert lefts == sorted(lefts, reverse=True)  # counting down
    assert capsys.readouterr() == ("", "")  # nothing printed by the library
    seen.clear()
    app.acquire_token_by_device_flow(
        app.initiate_device_flow(["User.Read"]), exit_condition=lambda f: True
    )
    assert seen == []  # no callback outside the block


def test_device_code_progress_in_asyncio(idp: DevIdP) -> None:
    async def sign_in() -> tuple[dict[str, object], list[Waiting]]:
        async with tokensmith.aio.PublicClientApplication(
            DESKTOP, authority=idp.authority(), verify=str(idp.ca_path)
        ) as app:
            flow = await app.initiate_device_flow(["User.Read"])
            seen: list[Waiting] = []
            with on_progress(_approving(idp, flow, seen)):  # type: ignore[arg-type]
                result = await app.acquire_token_by_device_flow(flow)
            return dict(result), seen

    result, seen = asyncio.run(sign_in())
    assert "access_token" in result and len(seen) >= 2
    assert all(e.kind == "device_code" for e in seen)


class _Cancelled(Exception):
    """The person closed the app's sign-in window."""


class _SilentBrowser(webbrowser.BaseBrowser):
    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        return True


def test_browser_sign_in_reports_that_it_waits_and_a_callback_can_cancel(idp: DevIdP) -> None:
    name = f"tokensmith-silent-{next(_names)}"
    webbrowser.register(name, None, _SilentBrowser(name))
    app = tokensmith.PublicClientApplication(
        DESKTOP, authority=idp.authority(), verify=str(idp.ca_path)
    )
    seen: list[Waiting] = []

    def cancel(event: Waiting) -> None:
        seen.append(event)
        raise _Cancelled

    with on_progress(cancel), pytest.raises(_Cancelled):
        app.acquire_token_interactive(["User.Read"], timeout=30, browser_name=name)
    (event,) = seen
    assert event.kind == "browser" and event.seconds_left == 30
    assert event.message == "waiting for the sign-in in the browser"
    authorize = f"{idp.base_url}/organizations/oauth2/v2.0/authorize?"
    assert event.address is not None and event.address.startswith(authorize)
