"""Item 3 of issue 9 against the dev IdP: an agent (the Daemon app) trades its instance
token (its own app-only token) for a user's token through the ``user_fic`` grant, with
MSAL Python 1.39 and with tokensmith; the dev IdP refuses what Entra would refuse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest

import tokensmith
from tokensmith.devidp import DevIdP

CONTOSO = "8d2a1f3e-6c4b-4a59-9e7d-2b1c0a9f8e7d"
DAEMON = "9b1e4d7a-5c3f-4e2b-8a6d-7f0c2b9e4a15"
DAEMON_SECRET = "dev-secret-not-for-production"
API_A = "a0a0a0a0-1b2c-4d3e-8f4a-5b6c7d8e9f01"
API_A_SECRET = "api-a-secret"
ADA = "ada@contoso.onmicrosoft.com"
USER_SCOPES = ["api://tokensmith-api-b/Data.Read"]


@pytest.fixture(scope="module")
def idp() -> Iterator[DevIdP]:
    with DevIdP() as server:
        yield server


@pytest.fixture
def trusted(idp: DevIdP, monkeypatch: pytest.MonkeyPatch) -> DevIdP:
    for name, value in idp.trust_environment().items():  # requests reads the CA here
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return idp


def _app(module: Any, idp: DevIdP, client_id: str = DAEMON, secret: str = DAEMON_SECRET) -> Any:
    options: dict[str, Any] = {"verify": str(idp.ca_path)}
    if module is msal:
        options["instance_discovery"] = False
    return module.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=idp.authority(CONTOSO), **options
    )


def _instance_token(app: Any) -> str:
    result = app.acquire_token_for_client(["api://tokensmith-api-a/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


@pytest.mark.parametrize("module", [msal, tokensmith], ids=["msal", "tokensmith"])
@pytest.mark.parametrize("who", ["username", "user_object_id"])
def test_an_agent_gets_the_users_token(trusted: DevIdP, module: Any, who: str) -> None:
    app = _app(module, trusted)
    user = trusted.config.user(ADA)
    assert user is not None
    named = {"username": ADA} if who == "username" else {"user_object_id": user.oid}
    result = app.acquire_token_by_user_federated_identity_credential(
        USER_SCOPES, _instance_token(app), **named
    )
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADA
    assert result["token_source"] == "identity_provider"
    (account,) = app.get_accounts()
    assert account["username"] == ADA
    hit = app.acquire_token_silent(USER_SCOPES, account)
    assert hit is not None and hit["token_source"] == "cache"


@pytest.mark.parametrize("module", [msal, tokensmith], ids=["msal", "tokensmith"])
def test_another_apps_instance_token_is_refused(trusted: DevIdP, module: Any) -> None:
    other = _instance_token(_app(module, trusted, API_A, API_A_SECRET))
    result = _app(module, trusted).acquire_token_by_user_federated_identity_credential(
        USER_SCOPES, other, username=ADA
    )
    assert result["error"] == "invalid_grant"
    assert 700211 in result["error_codes"]


@pytest.mark.parametrize("module", [msal, tokensmith], ids=["msal", "tokensmith"])
def test_a_user_token_is_not_an_instance_token(trusted: DevIdP, module: Any) -> None:
    app = _app(module, trusted)
    first = app.acquire_token_by_user_federated_identity_credential(
        USER_SCOPES, _instance_token(app), username=ADA
    )
    result = app.acquire_token_by_user_federated_identity_credential(
        USER_SCOPES, first["access_token"], username=ADA
    )
    assert result["error"] == "invalid_grant"


@pytest.mark.parametrize("module", [msal, tokensmith], ids=["msal", "tokensmith"])
def test_an_unknown_user_is_refused(trusted: DevIdP, module: Any) -> None:
    app = _app(module, trusted)
    result = app.acquire_token_by_user_federated_identity_credential(
        USER_SCOPES, _instance_token(app), username="nobody@contoso.onmicrosoft.com"
    )
    assert result["error"] == "invalid_grant" and 50034 in result["error_codes"]
