"""The pymsalruntime backend (Windows, macOS, and Linux's MSALRuntime) over a fake
runtime: what WAM and the macOS broker get, and how their answers come back. Not run
on Windows or macOS (docs/brokers.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.broker.fake_runtime import Error, FakeRuntime, Response_Status, Result

import tokensmith
from tokensmith.broker.base import BrokerStatus
from tokensmith.broker.runtime import RuntimeBroker, status_of

CONSOLE = tokensmith.PublicClientApplication.CONSOLE_WINDOW_HANDLE
SCOPES = ["s"]


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def windows_app(make_app: Callable[..., Any], runtime: FakeRuntime) -> Callable[..., Any]:
    def make(system: str = "win32", **kwargs: Any) -> Any:
        return make_app(broker_backend=RuntimeBroker(runtime, system), **kwargs)

    return make


def test_windows_console_apps_get_the_console_or_desktop_window(
    windows_app: Callable[..., Any], runtime: FakeRuntime
) -> None:
    runtime.next = Result(error=Error(Response_Status.Status_InteractionRequired, "pick"))
    app = windows_app()
    app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    names = [name for name, _ in runtime.calls]
    assert names == ["signin_silently", "signin_interactively"]
    window, _hint = runtime.calls[1][1]
    assert window == 0x10010  # no console window: the desktop window
    assert runtime.params[-1].extra["msal_gui_thread"] == "true"
    assert runtime.params[-1].values["redirect_uri"] == (
        "https://login.microsoftonline.com/common/oauth2/nativeclient"
    )


def test_a_gui_window_handle_is_passed_as_is(
    windows_app: Callable[..., Any], runtime: FakeRuntime
) -> None:
    app = windows_app()
    app.acquire_token_interactive(SCOPES, prompt="select_account", parent_window_handle=0x2A)
    assert runtime.calls[-1] == ("signin_interactively", (0x2A, None))
    assert "msal_gui_thread" not in runtime.params[-1].extra


def test_macos_uses_its_broker_redirect_uri(
    windows_app: Callable[..., Any], runtime: FakeRuntime
) -> None:
    windows_app("darwin").acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    assert runtime.params[-1].values["redirect_uri"] == "msauth.com.msauth.unsignedapp://auth"


def test_pop_on_windows_returns_the_signed_request(
    windows_app: Callable[..., Any], runtime: FakeRuntime
) -> None:
    runtime.next = Result(pop=True)
    app = windows_app()
    assert app.is_pop_supported()
    scheme = tokensmith.PopAuthScheme("POST", "https://api.example:8443/a/b?q=1", "nonce-1")
    result = app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE, auth_scheme=scheme)
    assert result["token_type"] == "pop" and result["access_token"] == "runtime-shr"
    assert runtime.params[-1].values["pop"] == ("POST", "api.example:8443", "/a/b", "nonce-1")
    assert list(app.token_cache.search(app.token_cache.CredentialType.ACCESS_TOKEN)) == []


def test_pop_through_linux_msalruntime_is_refused_as_msal_does(
    windows_app: Callable[..., Any],
) -> None:
    scheme = tokensmith.PopAuthScheme("GET", "https://api.example/", "n")
    app = windows_app("linux")
    assert not app.is_pop_supported()
    with pytest.raises(ValueError, match="PoP is not supported"):
        app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE, auth_scheme=scheme)


def test_username_password_goes_to_wam_as_msalruntime_parameters(
    windows_app: Callable[..., Any], runtime: FakeRuntime, entra: FakeEntra
) -> None:
    with pytest.warns(DeprecationWarning):
        result = windows_app().acquire_token_by_username_password("ada@x", "pw", SCOPES)
    assert result["token_source"] == "broker"
    extra = runtime.params[-1].extra
    assert (extra["MSALRuntime_Username"], extra["MSALRuntime_Password"]) == ("ada@x", "pw")
    assert extra["msal_client_sku"] == "tokensmith"
    assert entra.token_requests == []


def test_silent_reads_the_account_then_asks_the_runtime(
    windows_app: Callable[..., Any], runtime: FakeRuntime
) -> None:
    app = windows_app()
    app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    [account] = app.get_accounts()
    assert account["local_account_id"] == "runtime-account-1"
    result = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert result["token_source"] == "broker"
    assert [n for n, _ in runtime.calls][-2:] == ["read_account_by_id", "acquire_token_silently"]
    app.remove_account(account)
    assert [n for n, _ in runtime.calls][-1] == "signout_silently"


def test_wam_errors_keep_status_code_and_tag(
    windows_app: Callable[..., Any], runtime: FakeRuntime
) -> None:
    runtime.next = Result(error=Error(Response_Status.Status_ApiContractViolation, "no uri"))
    result = windows_app().acquire_token_interactive(
        SCOPES, prompt="none", parent_window_handle=CONSOLE
    )
    assert result["error"] == "broker_error"
    assert result["error_description"] == (
        "no uri. Status: Status_ApiContractViolation, Error code: 3399614473, Tag: 557973642"
    )


def test_runtime_statuses_map_by_name() -> None:
    assert status_of(Response_Status.Status_AccountUnusable) is BrokerStatus.ACCOUNT_UNUSABLE
    assert (
        status_of("Response_Status.Status_InteractionRequired") is BrokerStatus.INTERACTION_REQUIRED
    )
    assert status_of("something else") is BrokerStatus.UNEXPECTED


def test_the_runtime_does_not_honour_force_refresh() -> None:
    assert RuntimeBroker(FakeRuntime(), "win32").capabilities.force_refresh is False
