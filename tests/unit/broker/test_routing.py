"""Which calls a public client sends to its broker, and what comes back (MSAL 1.39's
rules, over a fake backend and the fake Entra)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.application.fake_entra import TENANT, FakeEntra
from tests.unit.broker.fake_backend import ADA, FakeBroker

import tokensmith
from tokensmith.broker.base import BrokerError, BrokerStatus
from tokensmith.broker.results import RedirectUriError

CONSOLE = tokensmith.PublicClientApplication.CONSOLE_WINDOW_HANDLE
SCOPES = ["https://graph.microsoft.com/.default"]


def sign_in(app: Any) -> dict[str, Any]:
    return dict(app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE))


def test_interactive_goes_to_the_broker_and_keeps_no_refresh_token(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    app = make_app()
    result = sign_in(app)
    assert result["access_token"] == "broker-at-1"
    assert result["token_source"] == "broker"
    assert result["token_type"] == "bearer"
    assert result["id_token_claims"]["preferred_username"] == ADA.username
    assert fake.names() == ["sign_in_silently"]  # the default account, silently
    assert entra.tokens_posted() == 0
    cache = app.token_cache
    assert list(cache.search(cache.CredentialType.REFRESH_TOKEN)) == []
    [account] = app.get_accounts()
    assert account["account_source"] == "broker"
    assert account["local_account_id"] == ADA.account_id


def test_the_broker_request_carries_msal_parameters(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app(client_capabilities=["CP1"])
    app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE, max_age=60)
    request = fake.calls[0][1]
    assert request.authority == f"https://login.microsoftonline.com/{TENANT}"
    assert request.redirect_uri == "https://login.microsoftonline.com/common/oauth2/nativeclient"
    assert list(request.scopes) == SCOPES  # undecorated: no offline_access
    assert "CP1" in (request.claims or "")
    assert request.extra["max_age"] == "60"


def test_parent_window_handle_is_required_once_a_broker_is_on(
    make_app: Callable[..., Any],
) -> None:
    with pytest.raises(ValueError, match="CONSOLE_WINDOW_HANDLE"):
        make_app().acquire_token_interactive(SCOPES)


def test_without_a_broker_parent_window_handle_is_not_needed(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app(enable_broker_on_linux=None)
    with pytest.raises(ValueError, match="auth_scheme"):  # the browser path, unchanged
        app.acquire_token_interactive(SCOPES, auth_scheme=object())
    assert fake.calls == []


def test_the_console_handle_becomes_no_window_and_a_gui_handle_is_passed_on(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    fake.default_account = None  # interaction required: the UI comes up
    app = make_app()
    seen: list[str] = []
    app.acquire_token_interactive(
        SCOPES, parent_window_handle=CONSOLE, on_before_launching_ui=lambda ui: seen.append(ui)
    )
    app.acquire_token_interactive(SCOPES, parent_window_handle=0x2A, prompt="select_account")
    interactive = [c[1] for c in fake.calls if c[0] == "sign_in_interactively"]
    assert [r.parent_window for r in interactive] == [None, 0x2A]
    assert seen == ["broker"]


def test_prompt_none_returns_the_default_accounts_result_or_its_error(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    fake.default_error = BrokerError(BrokerStatus.INTERACTION_REQUIRED, "need UI", error_code=7)
    result = make_app().acquire_token_interactive(
        SCOPES, prompt="none", parent_window_handle=CONSOLE
    )
    assert result["error"] == "broker_error"
    assert "Status_InteractionRequired, Error code: 7" in result["error_description"]
    assert "sign_in_interactively" not in fake.names()


def test_a_non_recoverable_silent_failure_is_returned_not_fallen_back(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    fake.default_error = BrokerError(BrokerStatus.NO_NETWORK, "offline")
    result = make_app().acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    assert result["error"] == "broker_error"
    assert fake.names() == ["sign_in_silently"]
    assert entra.token_requests == []


def test_a_wrong_default_account_goes_on_to_the_ui_without_the_hint_for_select_account(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app()
    result = app.acquire_token_interactive(
        SCOPES, login_hint="grace@contoso.example", parent_window_handle=CONSOLE
    )
    assert "access_token" in result
    assert fake.names() == ["sign_in_silently", "sign_in_interactively"]
    assert fake.calls[1][1].login_hint == "grace@contoso.example"
    app.acquire_token_interactive(
        SCOPES, login_hint="x@y", prompt="select_account", parent_window_handle=CONSOLE
    )
    assert fake.calls[-1][1].login_hint is None


def test_a_login_hint_of_one_cached_account_is_tried_silently_first(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app()
    sign_in(app)
    fake.calls.clear()
    result = app.acquire_token_interactive(
        ["other.scope"], login_hint=ADA.username, parent_window_handle=CONSOLE
    )
    assert result["token_source"] == "broker"
    assert fake.names() == ["read_account", "acquire_token_silently"]


def test_a_missing_broker_redirect_uri_raises_with_the_three_uris(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    fake.default_error = BrokerError(BrokerStatus.UNEXPECTED, "AADSTS50011: redirect mismatch")
    with pytest.raises(
        RedirectUriError, match=r"ms-appx-web://Microsoft\.AAD\.BrokerPlugin/pca-client"
    ):
        make_app().acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)


def test_silent_serves_the_cache_first_then_asks_the_broker(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app()
    sign_in(app)
    [account] = app.get_accounts()
    fake.calls.clear()
    hit = app.acquire_token_silent(SCOPES, account)
    assert hit["token_source"] == "cache" and fake.calls == []
    fresh = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert fresh["token_source"] == "broker"
    assert fake.names() == ["read_account", "acquire_token_silently"]
    assert fake.calls[1][1].account == ADA


def test_a_broker_failure_for_a_broker_account_is_final(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    app = make_app()
    sign_in(app)
    [account] = app.get_accounts()
    fake.silent_error = BrokerError(BrokerStatus.INTERACTION_REQUIRED, "sign in again")
    result = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert result["error"] == "broker_error"
    assert app.acquire_token_silent(SCOPES, account, force_refresh=True) is None
    assert entra.token_requests == []


def test_accounts_of_other_flows_bypass_the_broker(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    app = make_app()
    flow = app.initiate_device_flow(SCOPES)
    app.acquire_token_by_device_flow(flow)
    account = next(a for a in app.get_accounts() if a["account_source"] != "broker")
    assert account["account_source"] == "urn:ietf:params:oauth:grant-type:device_code"
    fake.calls.clear()
    result = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert result["token_source"] == "identity_provider"
    assert "acquire_token_silently" not in fake.names()


def test_an_account_of_unknown_origin_falls_back_to_its_refresh_token(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    app = make_app()
    app.acquire_token_by_refresh_token("rt-imported", SCOPES)
    cached = app.token_cache
    [entry] = list(cached.search(cached.CredentialType.ACCOUNT))
    assert entry.get("account_source") is None  # as an older MSAL wrote it
    account = dict(home_account_id=entry["home_account_id"], local_account_id="broker-ada")
    fake.silent_error = BrokerError(BrokerStatus.ACCOUNT_UNUSABLE, "unusable")
    result = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert result["token_source"] == "identity_provider"
    assert fake.names()[-1] == "acquire_token_silently"


def test_get_accounts_adds_the_accounts_only_the_broker_knows(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app()
    [account] = app.get_accounts()  # signed in by another app: single sign-on
    assert account["local_account_id"] == ADA.account_id
    assert account["account_source"] == "broker"
    result = app.acquire_token_silent(SCOPES, account)
    assert result["token_source"] == "broker"


def test_remove_account_signs_out_of_the_broker_then_forgets(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app()
    sign_in(app)
    [account] = app.get_accounts()
    app.remove_account(account)
    assert fake.names()[-2:] == ["read_account", "sign_out"]
    assert list(app.token_cache.search(app.token_cache.CredentialType.ACCESS_TOKEN)) == []


def test_username_password_goes_to_a_broker_that_takes_passwords(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    from tokensmith.broker.base import BrokerCapabilities

    fake.capabilities = BrokerCapabilities(username_password=True)
    with pytest.warns(DeprecationWarning):
        result = make_app().acquire_token_by_username_password("ada", "pw", SCOPES)
    assert result["token_source"] == "broker"
    request = fake.calls[-1][1]
    assert request.extra["MSALRuntime_Username"] == "ada"
    assert "pw" not in repr(request)
    assert entra.token_requests == []


def test_username_password_stays_in_process_where_the_broker_takes_none(
    make_app: Callable[..., Any], fake: FakeBroker, entra: FakeEntra
) -> None:
    with pytest.warns(DeprecationWarning):
        result = make_app().acquire_token_by_username_password("ada", "pw", SCOPES)
    assert result["token_source"] == "identity_provider"
    assert fake.calls == []


@pytest.mark.parametrize(
    "authority",
    [
        "https://login.microsoftonline.com/adfs",
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin",
        "https://contoso.ciamlogin.com/contoso.onmicrosoft.com",
    ],
)
def test_authorities_no_broker_serves_run_in_process(
    make_app: Callable[..., Any], fake: FakeBroker, authority: str
) -> None:
    app = make_app(authority=authority)
    assert app.is_pop_supported() is False
    app.get_accounts()
    assert fake.calls == []


def test_a_generic_openid_provider_bypasses_the_broker(
    make_app: Callable[..., Any], fake: FakeBroker
) -> None:
    app = make_app(authority=None, oidc_authority="https://issuer.example/tenant")
    app.get_accounts()
    assert fake.calls == []
