"""The core issue's interop cases against a real OpenID provider (node-oidc-provider),
written against MSAL Python's API and run with each client library in ``CLIENT_LIBS``.

``msal`` (1.39, the reference) validates the tests themselves; ``tokensmith`` is the
library under test (``import tokensmith as msal``), and ``tokensmith.aio`` its async
applications, driven through a blocking proxy (tests/_aio.py) on their own event loop
and ``httpx.AsyncClient``. Where the two legitimately differ
(the careful refresh), each one's documented behaviour is asserted.

Request counts come from the provider's own counters, so no wrapping of the client's
HTTP stack is needed (tokensmith runs on its default transport with ``verify=``).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from tests._aio import blocking_app
from tests.interop._provider import (
    DEVICE_GRANT,
    SCOPE_DEFAULT,
    SCOPE_READ,
    SHORT_TTL,
    OidcProvider,
)

from tokensmith._jwt import decode_jwt_claims

pytestmark = pytest.mark.interop

CLIENT_LIBS = ["msal", "tokensmith", "tokensmith.aio"]
SCOPES = [SCOPE_READ]


@dataclass
class Lib:
    """One client library, and how to build its applications against the provider."""

    name: str
    module: ModuleType
    provider: OidcProvider
    _sessions: list[Any] = field(default_factory=list)
    _apps: list[Any] = field(default_factory=list)

    def _transport_kwargs(self) -> dict[str, Any]:
        if self.name == "msal":
            session = self.provider.requests_session()
            self._sessions.append(session)
            return {"http_client": session}
        return {"verify": str(self.provider.ca_path)}

    def _build(self, class_name: str, *args: Any, **kwargs: Any) -> Any:
        cls = getattr(self.module, class_name)
        app = (
            blocking_app(cls, *args, **kwargs)
            if self.name == "tokensmith.aio"
            else cls(*args, **kwargs)
        )
        self._apps.append(app)
        return app

    def public_app(self, client_id: str) -> Any:
        return self._build(
            "PublicClientApplication",
            client_id,
            oidc_authority=self.provider.issuer,
            **self._transport_kwargs(),
        )

    def confidential_app(self, client_id: str, secret: str) -> Any:
        return self._build(
            "ConfidentialClientApplication",
            client_id,
            client_credential=secret,
            oidc_authority=self.provider.issuer,
            **self._transport_kwargs(),
        )

    def close(self) -> None:
        for app in self._apps:
            if hasattr(app, "close"):  # tokensmith apps own their connections
                app.close()
        for session in self._sessions:
            session.close()


@pytest.fixture(params=CLIENT_LIBS)
def lib(request: pytest.FixtureRequest, oidc_provider: OidcProvider) -> Iterator[Lib]:
    library = Lib(request.param, importlib.import_module(request.param), oidc_provider)
    yield library
    library.close()


def _sign_in_with_device_flow(
    provider: OidcProvider, app: Any, before_polling: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run the device flow; the person signs in through the provider's pages."""
    flow = app.initiate_device_flow(SCOPES)
    assert "user_code" in flow, flow
    if before_polling is None:
        provider.complete_device_login(flow["verification_uri"], flow["user_code"])
    else:
        before_polling()
    result: dict[str, Any] = app.acquire_token_by_device_flow(flow)
    assert result.get("token_source") == "identity_provider", result.get("error_description")
    return result


def _only_account(app: Any, provider: OidcProvider) -> dict[str, Any]:
    accounts = app.get_accounts()
    assert len(accounts) == 1, accounts
    account: dict[str, Any] = accounts[0]
    assert account["username"] == provider.username
    return account


# -- client credentials ------------------------------------------------------------------


def test_client_credentials_then_cache_hit(lib: Lib, oidc_provider: OidcProvider) -> None:
    clients = oidc_provider.clients
    app = lib.confidential_app(clients.confidential_id, clients.confidential_secret)
    before = oidc_provider.token_requests(clients.confidential_id, "client_credentials")

    first = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert first.get("token_source") == "identity_provider", first.get("error_description")
    assert decode_jwt_claims(first["access_token"], "access token")["scope"] == SCOPE_DEFAULT
    second = app.acquire_token_for_client([SCOPE_DEFAULT])

    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
    assert 0 < second["expires_in"] <= first["expires_in"]
    after = oidc_provider.token_requests(clients.confidential_id, "client_credentials")
    assert after == before + 1


def test_wrong_secret_gives_invalid_client(lib: Lib, oidc_provider: OidcProvider) -> None:
    app = lib.confidential_app(oidc_provider.clients.confidential_id, "not-the-secret")
    result = app.acquire_token_for_client([SCOPE_DEFAULT])
    assert result["error"] == "invalid_client"
    assert "access_token" not in result
    assert "not-the-secret" not in repr(result)


# -- device code, accounts, silent ----------------------------------------------------------


def test_device_flow_while_the_person_signs_in(lib: Lib, oidc_provider: OidcProvider) -> None:
    """The client polls (authorization_pending) until the person has signed in."""
    client_id = oidc_provider.clients.public_id
    app = lib.public_app(client_id)
    polls_before = oidc_provider.token_requests(client_id, DEVICE_GRANT)
    holder: dict[str, Any] = {}
    person_done = threading.Event()

    def person_after_first_poll() -> None:
        deadline = time.monotonic() + 10
        while oidc_provider.token_requests(client_id, DEVICE_GRANT) == polls_before:
            if time.monotonic() > deadline:
                holder["error"] = "the client never polled"
                return
            time.sleep(0.05)
        try:
            oidc_provider.complete_device_login(holder["uri"], holder["code"])
        except AssertionError as exc:  # reported in the main thread
            holder["error"] = str(exc)
        finally:
            person_done.set()

    flow = app.initiate_device_flow(SCOPES)
    holder.update(uri=flow["verification_uri_complete"], code=flow["user_code"])
    person = threading.Thread(target=person_after_first_poll, daemon=True)
    person.start()
    result = app.acquire_token_by_device_flow(flow)
    person.join(timeout=10)

    assert "error" not in holder, holder.get("error")
    assert person_done.is_set()
    assert result.get("token_source") == "identity_provider", result.get("error_description")
    assert result["id_token_claims"]["sub"] == oidc_provider.username
    assert oidc_provider.token_requests(client_id, DEVICE_GRANT) >= polls_before + 2


def test_device_flow_accounts_and_silent_from_cache(lib: Lib, oidc_provider: OidcProvider) -> None:
    client_id = oidc_provider.clients.public_id
    app = lib.public_app(client_id)
    result = _sign_in_with_device_flow(oidc_provider, app)
    assert result["refresh_token"] and result["id_token"]
    assert result["id_token_claims"]["aud"] == client_id

    account = _only_account(app, oidc_provider)
    assert account["home_account_id"] == oidc_provider.username  # the id token's sub
    assert account["environment"] == "127.0.0.1"
    assert account["account_source"] == DEVICE_GRANT
    requests_before = oidc_provider.token_requests(client_id)

    silent = app.acquire_token_silent(SCOPES, account)
    assert silent is not None
    assert silent["token_source"] == "cache"
    assert silent["access_token"] == result["access_token"]
    assert oidc_provider.token_requests(client_id) == requests_before


def test_silent_refresh_after_the_access_token_expired(
    lib: Lib, oidc_provider: OidcProvider
) -> None:
    client_id = oidc_provider.clients.short_ttl_id
    app = lib.public_app(client_id)
    result = _sign_in_with_device_flow(oidc_provider, app)
    assert result["expires_in"] == SHORT_TTL
    account = _only_account(app, oidc_provider)
    expiry = decode_jwt_claims(result["access_token"], "access token")["exp"]
    time.sleep(max(0.0, expiry - time.time()) + 0.2)  # the protocol's wait: let it expire
    refreshes = oidc_provider.token_requests(client_id, "refresh_token")

    silent = app.acquire_token_silent(SCOPES, account)

    assert silent is not None
    assert silent["token_source"] == "identity_provider"
    assert silent["access_token"] != result["access_token"]
    assert oidc_provider.token_requests(client_id, "refresh_token") == refreshes + 1


def test_forced_refresh_rotates_the_refresh_token(lib: Lib, oidc_provider: OidcProvider) -> None:
    client_id = oidc_provider.clients.public_id
    app = lib.public_app(client_id)
    result = _sign_in_with_device_flow(oidc_provider, app)
    account = _only_account(app, oidc_provider)

    first = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert first is not None and first["token_source"] == "identity_provider"
    assert first["access_token"] != result["access_token"]
    # The provider rotated the refresh token and revokes the grant if the old one is
    # replayed: a second refresh only works with the rotated token from the cache.
    second = app.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert second is not None and second["token_source"] == "identity_provider"
    assert second["access_token"] != first["access_token"]


def test_remove_account_then_silent_returns_none(lib: Lib, oidc_provider: OidcProvider) -> None:
    client_id = oidc_provider.clients.public_id
    app = lib.public_app(client_id)
    _sign_in_with_device_flow(oidc_provider, app)
    account = _only_account(app, oidc_provider)
    requests_before = oidc_provider.token_requests(client_id)

    app.remove_account(account)

    assert app.get_accounts() == []
    assert app.acquire_token_silent(SCOPES, account) is None
    assert oidc_provider.token_requests(client_id) == requests_before


# -- the careful client: a refresh token without offline_access -----------------------------


def test_refresh_when_the_refresh_token_lacks_offline_access(
    lib: Lib, oidc_provider: OidcProvider
) -> None:
    """The provider never grants this client offline_access, yet issues it refresh
    tokens; a refresh whose scope asks for offline_access is rejected (invalid_scope).

    msal decorates every refresh with ``offline_access openid profile``, so its silent
    refresh fails (``acquire_token_silent`` swallows the error and returns None).
    tokensmith limits the reserved scopes of a refresh to those the refresh token
    carries, so its silent refresh succeeds.
    """
    client_id = oidc_provider.clients.careful_id
    app = lib.public_app(client_id)
    result = _sign_in_with_device_flow(oidc_provider, app)
    assert result["refresh_token"]
    assert "offline_access" not in result.get("scope", "").split()
    account = _only_account(app, oidc_provider)
    rejected_before = _refreshes_with_status(oidc_provider, client_id, 400)

    refreshed = app.acquire_token_silent(SCOPES, account, force_refresh=True)

    if lib.name == "msal":
        assert refreshed is None
        assert _refreshes_with_status(oidc_provider, client_id, 400) == rejected_before + 1
        detailed = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
        assert detailed["error"] == "invalid_scope"
        assert detailed.get("scope") == "offline_access"
    else:
        assert refreshed is not None, "tokensmith's refresh asked for a scope the RT lacks"
        assert refreshed["token_source"] == "identity_provider"
        assert refreshed["access_token"] != result["access_token"]
        assert _refreshes_with_status(oidc_provider, client_id, 400) == rejected_before


def _refreshes_with_status(provider: OidcProvider, client_id: str, status: int) -> int:
    return sum(
        row["count"]
        for row in provider.stats()
        if row["route"] == "token"
        and row["client_id"] == client_id
        and row["grant_type"] == "refresh_token"
        and row["status"] == status
    )


# -- certificate credentials (private_key_jwt, RFC 7523) ------------------------------


def _pfx_file(provider: OidcProvider, directory: Any, passphrase: bytes) -> str:
    """The interop client key and certificate as a PKCS#12 file, as Windows exports it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = provider.clients.jwt_key
    private_key = serialization.load_pem_private_key(key.private_key_pem.encode(), None)
    certificate = x509.load_pem_x509_certificate(key.certificate_pem.encode())
    blob = pkcs12.serialize_key_and_certificates(
        b"interop",
        private_key,
        certificate,
        None,
        serialization.BestAvailableEncryption(passphrase),
    )
    path = directory / "client.pfx"
    path.write_bytes(blob)
    return str(path)


@pytest.mark.parametrize("form", ["pem", "pfx"])
def test_tokensmith_certificate_credential_signs_a_fresh_assertion_per_request(
    form: str, oidc_provider: OidcProvider, tmp_path: Any
) -> None:
    """A strict provider rejects a replayed ``jti`` (RFC 7523 §3), which MSAL 1.39 sends
    (see test_provider_smoke); tokensmith signs a new assertion for every request."""
    import tokensmith

    key = oidc_provider.clients.jwt_key
    credential: dict[str, Any]
    if form == "pem":
        credential = {
            "private_key": key.private_key_pem,
            "public_certificate": key.certificate_pem,
        }
    else:
        credential = {
            "private_key_pfx_path": _pfx_file(oidc_provider, tmp_path, b"pfx-pass"),
            "passphrase": "pfx-pass",
        }
    client_id = oidc_provider.clients.jwt_id
    before = oidc_provider.token_requests(client_id)
    with tokensmith.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        oidc_authority=oidc_provider.issuer,
        verify=str(oidc_provider.ca_path),
    ) as app:
        first = app.acquire_token_for_client([SCOPE_DEFAULT])
        assert first.get("token_source") == "identity_provider", first.get("error_description")
        assert decode_jwt_claims(first["access_token"], "access token")["sub"] == client_id
        second = app.acquire_token_for_client([SCOPE_READ])  # a cache miss: a new request
        assert second.get("token_source") == "identity_provider", second.get("error_description")
        assert app.acquire_token_for_client([SCOPE_DEFAULT])["token_source"] == "cache"
    assert oidc_provider.token_requests(client_id) - before == 2
