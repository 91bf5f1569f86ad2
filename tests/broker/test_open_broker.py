"""tokensmith's D-Bus client (``enable_broker_on_linux=True``, the default backend on
Linux) against ``tokensmith broker`` on a real dbus-daemon, backed by the dev IdP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests._aio import blocking_app
from tests.broker.conftest import (
    ADA,
    API_A_SCOPE,
    DESKTOP,
    FAMILY_ONE,
    FAMILY_TWO,
    Daemon,
    start_daemon,
)
from tests.session_bus import SessionBus

import tokensmith
import tokensmith.aio
from tokensmith._jwt import b64url_decode
from tokensmith.devidp import DevIdP
from tokensmith.protocol.jwk import public_key_from_jwk, thumbprint
from tokensmith.protocol.jws import verify_signature

CONSOLE = tokensmith.PublicClientApplication.CONSOLE_WINDOW_HANDLE
SCOPES = [API_A_SCOPE]


@pytest.fixture
def make_app(idp: DevIdP, daemon: Daemon) -> Iterator[Any]:
    opened: list[Any] = []

    def make(client_id: str = DESKTOP, *, aio: bool = False, **kwargs: Any) -> Any:
        options = dict(
            authority=idp.authority("organizations"),
            verify=str(idp.ca_path),
            enable_broker_on_linux=True,
            **kwargs,
        )
        if aio:
            app = blocking_app(tokensmith.aio.PublicClientApplication, client_id, **options)
        else:
            app = tokensmith.PublicClientApplication(client_id, **options)
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def _refresh_tokens(app: Any) -> list[Any]:
    return list(app.token_cache.search(app.token_cache.CredentialType.REFRESH_TOKEN))


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
def test_sign_in_through_the_broker_keeps_refresh_tokens_on_the_device(
    make_app: Any, daemon: Daemon, aio: bool
) -> None:
    app = make_app(aio=aio)
    assert app._broker is not None and app._broker.backend.name == "dbus"
    result = app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    assert result["token_source"] == "broker", result
    assert result["id_token_claims"]["preferred_username"] == ADA
    assert "refresh_token" not in result
    assert _refresh_tokens(app) == []
    assert daemon.sign_ins() == 1
    # the broker keeps them, encrypted under the device key (0600)
    key = daemon.state_dir / "device.key"
    assert key.stat().st_mode & 0o777 == 0o600
    vault = (daemon.state_dir / "tokens").read_bytes()
    assert b"RefreshToken" not in vault and b"secret" not in vault
    [account] = app.get_accounts()
    assert account["account_source"] == "broker"
    again = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert again["token_source"] == "broker"
    assert again["access_token"] != result["access_token"]
    assert daemon.sign_ins() == 1


def test_single_sign_on_a_second_app_gets_a_token_without_a_prompt(
    make_app: Any, daemon: Daemon
) -> None:
    first = make_app(FAMILY_ONE)
    first.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    second = make_app(FAMILY_TWO)  # another app, an empty cache of its own
    [account] = second.get_accounts()
    result = second.acquire_token_silent(SCOPES, account)
    assert result is not None and result["token_source"] == "broker"
    claims = json.loads(b64url_decode(result["access_token"].split(".")[1]))
    assert claims["azp"] == FAMILY_TWO or claims.get("appid") == FAMILY_TWO
    # interactive with nothing to pick: the device's one account, silently
    third = make_app(FAMILY_TWO)
    signed = third.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    assert signed["token_source"] == "broker"
    assert daemon.sign_ins() == 1


def test_sign_out_forgets_the_account_on_the_device(make_app: Any, daemon: Daemon) -> None:
    app = make_app()
    app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    [account] = app.get_accounts()
    app.remove_account(account)
    assert app.get_accounts() == []
    assert make_app().get_accounts() == []  # the broker forgot it too
    # the broker knows it no more and the app has no refresh token: nothing (as MSAL)
    assert make_app().acquire_token_silent_with_error(SCOPES, account, force_refresh=True) is None


def test_pop_through_the_broker_is_a_signed_http_request(make_app: Any) -> None:
    app = make_app()
    assert app.is_pop_supported()
    scheme = tokensmith.PopAuthScheme("GET", "https://api.example:8443/items?x=1", "n0nce")
    result = app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE, auth_scheme=scheme)
    assert result["token_type"] == "pop", result
    header_b64, claims_b64, signature_b64 = result["access_token"].split(".")
    header = json.loads(b64url_decode(header_b64))
    claims = json.loads(b64url_decode(claims_b64))
    assert header["typ"] == "pop" and header["kid"] == thumbprint(claims["cnf"]["jwk"])
    assert (claims["m"], claims["u"], claims["p"], claims["nonce"]) == (
        "GET",
        "api.example:8443",
        "/items",
        "n0nce",
    )
    assert claims["at"].count(".") == 2  # the provider's access token inside
    key = public_key_from_jwk(claims["cnf"]["jwk"])
    signing_input = f"{header_b64}.{claims_b64}".encode()
    assert verify_signature(signing_input, b64url_decode(signature_b64), key, "ES256")
    [account] = app.get_accounts()
    silent = app.acquire_token_silent(SCOPES, account, auth_scheme=scheme)
    assert silent["token_type"] == "pop" and silent["access_token"] != result["access_token"]
    # PoP tokens are bound to one request: never served from the cache
    plain = app.acquire_token_silent(SCOPES, account)
    assert plain["token_type"].lower() == "bearer"


def test_the_vault_survives_a_restart_and_nothing_else_can_read_it(
    idp: DevIdP, bus: SessionBus, daemon: Daemon, make_app: Any
) -> None:
    app = make_app()
    app.acquire_token_interactive(SCOPES, parent_window_handle=CONSOLE)
    [account] = app.get_accounts()
    daemon.stop()
    before = daemon.sign_ins()
    restarted = start_daemon(idp, bus, daemon.state_dir)
    try:
        fresh = make_app()  # a new connection, to the new broker
        result = fresh.acquire_token_silent(SCOPES, account, force_refresh=True)
        assert result is not None and result["token_source"] == "broker"
        assert restarted.sign_ins() == before
    finally:
        restarted.stop()


def test_generate_signed_http_request_over_the_bus(bus: SessionBus, daemon: Daemon) -> None:
    from tokensmith.broker.base import BrokerAccount, BrokerError, PopParams
    from tokensmith.broker.dbus_client import DBusBroker

    broker = DBusBroker.connect(bus.address)
    try:
        pop = PopParams("PUT", "api.example", "/v1", "nonce-2")
        shr = broker.generate_signed_http_request("c", BrokerAccount("a"), pop, "cid", "at-1")
        claims = json.loads(b64url_decode(shr.split(".")[1]))
        assert (claims["m"], claims["u"], claims["p"], claims["at"]) == (
            "PUT",
            "api.example",
            "/v1",
            "at-1",
        )
        with pytest.raises(BrokerError, match="accessToken"):
            broker.generate_signed_http_request("c", BrokerAccount("a"), pop, "cid")
    finally:
        broker.close()
