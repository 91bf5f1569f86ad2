from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from tests.unit.application.fake_entra import OTHER_TENANT, TENANT, UID, FakeEntra

from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

READ = ["User.Read"]
HOME = f"{UID}.{TENANT}"


def signed_in(app: Any) -> dict[str, Any]:
    result = app.acquire_token_by_refresh_token("imported-rt", ["User.Read", "Mail.Read"])
    assert result["token_source"] == "identity_provider", result
    [account] = app.get_accounts()
    return account


def test_refresh_token_import_creates_an_msal_account(make_pca: Any) -> None:
    app = make_pca()
    account = signed_in(app)
    assert account["home_account_id"] == HOME
    assert account["username"] == "ada@contoso.example"
    assert account["environment"] == "login.microsoftonline.com"
    assert account["realm"] == TENANT
    assert app.get_accounts(username="ADA@contoso.example") == [account]
    assert app.get_accounts(username="nobody@contoso.example") == []


def test_silent_hit_for_a_subset_of_the_cached_scopes(make_pca: Any, entra: FakeEntra) -> None:
    app = make_pca()
    account = signed_in(app)
    result = app.acquire_token_silent(READ, account)
    assert result["access_token"] == "at-1"
    assert result["token_source"] == "cache"
    assert set(result) == {"access_token", "token_type", "expires_in", "token_source"}
    assert entra.tokens_posted() == 1


def test_silent_refreshes_an_expired_token_with_the_refresh_token(
    make_pca: Any, entra: FakeEntra, clock: Any
) -> None:
    app = make_pca()
    account = signed_in(app)
    clock.advance(3600)
    result = app.acquire_token_silent(READ, account)
    assert result["access_token"] == "at-2"
    assert result["token_source"] == "identity_provider"
    refresh = entra.token_requests[-1]
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["refresh_token"] == "rt-1"
    assert set(refresh["scope"].split()) == {"User.Read", "openid", "profile", "offline_access"}
    # the rotated refresh token is the one used next time
    clock.advance(3600)
    app.acquire_token_silent(READ, account)
    assert entra.token_requests[-1]["refresh_token"] == "rt-2"


def test_force_refresh_goes_to_the_network(make_pca: Any, entra: FakeEntra) -> None:
    app = make_pca()
    account = signed_in(app)
    assert app.acquire_token_silent(READ, account, force_refresh=True)["access_token"] == "at-2"


def test_failed_refresh_none_and_error_dict_with_classification(
    make_pca: Any, entra: FakeEntra, clock: Any
) -> None:
    app = make_pca()
    account = signed_in(app)
    clock.advance(3600)
    entra.token_handler = lambda form: json_response(
        {
            "error": "invalid_grant",
            "error_description": "AADSTS700082: The refresh token has expired.",
            "error_codes": [700082],
            "suberror": "bad_token",
        },
        400,
    )
    assert app.acquire_token_silent(READ, account) is None
    error = app.acquire_token_silent_with_error(READ, account, force_refresh=True)
    assert error["error"] == "invalid_grant"
    assert error["classification"] == ""
    assert error.suberror == "bad_token"


def test_aging_token_falls_back_to_the_cached_one(
    make_pca: Any, entra: FakeEntra, clock: Any
) -> None:
    entra.extra = {"refresh_in": 600}
    app = make_pca()
    account = signed_in(app)
    clock.advance(700)
    entra.token_handler = lambda form: HttpResponse(503, "down", {})
    result = app.acquire_token_silent(READ, account)
    assert result["access_token"] == "at-1"
    assert result["token_source"] == "cache"


def test_no_account_or_empty_cache_gives_none(make_pca: Any) -> None:
    app = make_pca()
    assert app.acquire_token_silent(READ, None) is None
    assert app.acquire_token_silent(READ, {"home_account_id": "x.y"}) is None


def test_remove_account_forgets_everything(make_pca: Any, clock: Any) -> None:
    app = make_pca()
    account = signed_in(app)
    app.remove_account(account)
    assert app.get_accounts() == []
    assert app.acquire_token_silent(READ, account) is None


def test_per_request_authority_is_honoured_for_silent(make_pca: Any, entra: FakeEntra) -> None:
    app = make_pca()
    account = signed_in(app)
    other = f"https://login.microsoftonline.com/{OTHER_TENANT}"
    result = app.acquire_token_silent(READ, account, authority=other)
    assert result["token_source"] == "identity_provider"
    assert entra.token_requests[-1]["grant_type"] == "refresh_token"
    again = app.acquire_token_silent(READ, account, authority=other)
    assert again["token_source"] == "cache"


def test_family_apps_share_a_refresh_token(make_pca: Any, entra: FakeEntra) -> None:
    entra.extra = {"foci": "1"}
    first = make_pca("family-app-1")
    account = signed_in(first)
    second = make_pca("family-app-2", token_cache=first.token_cache)
    result = second.acquire_token_silent(READ, account)
    assert result["token_source"] == "identity_provider"
    assert entra.token_requests[-1]["client_id"] == "family-app-2"
    assert entra.token_requests[-1]["refresh_token"] == "rt-1"


def test_reserved_and_malformed_scopes_are_refused(make_pca: Any) -> None:
    app = make_pca()
    with pytest.raises(ValueError):
        app.acquire_token_by_refresh_token("rt", ["openid"])
    with pytest.raises(ValueError):
        app.acquire_token_silent("User.Read", {"home_account_id": HOME})


def test_exclude_scopes_drops_offline_access(make_pca: Any, entra: FakeEntra) -> None:
    app = make_pca(exclude_scopes=["offline_access"])
    app.acquire_token_by_refresh_token("rt", READ)
    assert "offline_access" not in entra.token_requests[-1]["scope"].split()
    with pytest.raises(ValueError):
        make_pca(exclude_scopes=["openid"])


def test_client_capabilities_are_sent_as_claims(make_pca: Any, entra: FakeEntra) -> None:
    app = make_pca(client_capabilities=["CP1"])
    app.acquire_token_by_refresh_token("rt", READ)
    assert '"xms_cc"' in entra.token_requests[-1]["claims"]


def test_silent_refresh_is_single_flight(make_pca: Any, entra: FakeEntra, clock: Any) -> None:
    app = make_pca()
    account = signed_in(app)
    clock.advance(3600)
    gate = threading.Event()
    issue = entra.issue

    def slow(form: dict[str, str]) -> HttpResponse:
        gate.wait(5)
        return issue(form)

    entra.token_handler = slow
    results: list[Any] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        results.append(app.acquire_token_silent(READ, account))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    threading.Timer(0.3, gate.set).start()
    for t in threads:
        t.join(10)
    assert [r["access_token"] for r in results] == ["at-2"] * 32
    assert entra.tokens_posted() == 2  # the import, then exactly one refresh


def test_device_flow_polls_until_the_user_signs_in(
    make_pca: Any, entra: FakeEntra, clock: Any
) -> None:
    pending = {"n": 2}

    def handler(form: dict[str, str]) -> HttpResponse:
        if pending["n"]:
            pending["n"] -= 1
            return json_response({"error": "authorization_pending"}, 400)
        return entra.issue(form)

    entra.token_handler = handler
    app = make_pca()
    flow = app.initiate_device_flow(READ)
    assert flow["user_code"] == "ABCD-EFGH"
    assert flow["expires_at"] == clock() + 900
    start = clock()
    result = app.acquire_token_by_device_flow(flow)
    assert result["access_token"] == "at-1"
    assert clock() - start >= 10  # polled, slept the interval, twice
    assert entra.token_requests[-1]["device_code"] == "DC-1"
    assert app.get_accounts()[0]["account_source"] == "urn:ietf:params:oauth:grant-type:device_code"


def test_username_password_managed_and_federated(make_pca: Any, entra: FakeEntra) -> None:
    app = make_pca()
    with pytest.warns(DeprecationWarning):
        ok = app.acquire_token_by_username_password("ada@contoso.example", "pw", READ)
    assert ok["token_source"] == "identity_provider"
    assert entra.token_requests[-1]["password"] == "pw"
    # Federated, but no MEX document and no active endpoint named: MSAL's ValueError
    # (the WS-Trust path itself: tests/devidp/test_federated*.py, tests/unit/protocol).
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="address"):
        app.acquire_token_by_username_password("bob@federated.example", "pw", READ)


def test_secrets_never_reach_logs(
    make_pca: Any, caplog: pytest.LogCaptureFixture, clock: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_pca()
    account = signed_in(app)
    clock.advance(3600)
    app.acquire_token_silent(READ, account)
    text = caplog.text
    for secret in ("imported-rt", "rt-1", "at-1", "at-2"):
        assert secret not in text


def test_accounts_are_read_only_values_refreshed_when_accounts_change(make_pca: Any) -> None:
    import copy
    import json

    app = make_pca()
    account = signed_in(app)
    with pytest.raises(TypeError):
        account["username"] = "mallory"
    assert json.loads(json.dumps(account)) == dict(account)
    mutable = copy.copy(account)
    mutable["username"] = "changed"
    assert app.get_accounts()[0]["username"] == "ada@contoso.example"
    app.remove_account(account)
    assert app.get_accounts() == []
