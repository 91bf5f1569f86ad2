"""Item 4 of issue 9: live attributes. ``app.token_cache = other`` is honoured by
every path, ``app.http_client`` is a client with MSAL's ``get``/``post`` even when none
was given, and a string ``client_assertion`` warns as MSAL warns."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.surface_oracle import AUTHORITY, USERNAME, FakeEntraHttp

import tokensmith
import tokensmith.aio
from tokensmith.devidp import DevIdP

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")

SCOPES = ["api://x/read"]
APP_SCOPES = ["api://x/.default"]


def _cca(module: Any, server: FakeEntraHttp, cache: Any) -> Any:
    return module.ConfidentialClientApplication(
        "surface-cca",
        client_credential="s",
        authority=AUTHORITY,
        http_client=server,
        token_cache=cache,
    )


def _swap_story(module: Any) -> dict[str, Any]:
    """One story of sign-in, cache swap and swap back; what each step answered."""
    server = FakeEntraHttp()
    first, second = module.SerializableTokenCache(), module.SerializableTokenCache()
    app = _cca(module, server, first)
    seen: dict[str, Any] = {}
    app.acquire_token_by_username_password(USERNAME, "pw", SCOPES)
    (account,) = app.get_accounts()
    seen["client_1"] = app.acquire_token_for_client(APP_SCOPES)["token_source"]

    app.token_cache = second
    seen["is_second"] = app.token_cache is second
    seen["accounts_after_swap"] = app.get_accounts()
    seen["silent_after_swap"] = app.acquire_token_silent(SCOPES, account)
    seen["client_after_swap"] = app.acquire_token_for_client(APP_SCOPES)["token_source"]
    app.acquire_token_by_refresh_token("imported-rt", SCOPES)  # written to the second
    seen["second_accounts"] = len(app.get_accounts())
    (imported,) = app.get_accounts()
    app.remove_account(imported)
    seen["second_after_removal"] = app.get_accounts()

    app.token_cache = first
    seen["silent_back"] = app.acquire_token_silent(SCOPES, account)["token_source"]
    seen["client_back"] = app.acquire_token_for_client(APP_SCOPES)["token_source"]
    seen["first_accounts"] = len(app.get_accounts())
    seen["token_posts"] = [p.data["grant_type"] for p in server.token_posts()]
    return seen


def test_token_cache_assignment_is_honoured_by_every_path_as_in_msal() -> None:
    theirs, ours = _swap_story(msal), _swap_story(tokensmith)
    assert ours == theirs
    assert ours["client_after_swap"] == "identity_provider"  # not the old cache's token
    assert ours["silent_after_swap"] is None


def test_on_behalf_of_reads_the_assigned_cache() -> None:
    server = FakeEntraHttp()
    first = tokensmith.SerializableTokenCache()
    app = _cca(tokensmith, server, first)
    assert app.acquire_token_on_behalf_of("user-at", SCOPES)["token_source"] == "identity_provider"
    assert app.acquire_token_on_behalf_of("user-at", SCOPES)["token_source"] == "cache"
    app.token_cache = tokensmith.SerializableTokenCache()
    assert app.acquire_token_on_behalf_of("user-at", SCOPES)["token_source"] == "identity_provider"
    app.token_cache = first
    assert app.acquire_token_on_behalf_of("user-at", SCOPES)["token_source"] == "cache"


def test_the_async_twin_reads_the_assigned_cache() -> None:
    server = FakeEntraHttp()
    app = _cca(tokensmith.aio, server, tokensmith.SerializableTokenCache())

    async def story() -> list[str]:
        sources = [(await app.acquire_token_for_client(APP_SCOPES))["token_source"]]
        app.token_cache = tokensmith.SerializableTokenCache()
        sources.append((await app.acquire_token_for_client(APP_SCOPES))["token_source"])
        await app.close()
        return sources

    assert asyncio.run(story()) == ["identity_provider", "identity_provider"]


@pytest.fixture(scope="module")
def idp() -> Iterator[DevIdP]:
    with DevIdP() as server:
        yield server


def _exchange(client: Any, idp: DevIdP) -> list[Any]:
    """A GET (discovery), a GET that is not found, a form POST refused by the token
    endpoint: the status and JSON of each."""
    discovery = f"{idp.authority('organizations')}/v2.0/.well-known/openid-configuration"
    got = client.get(discovery, headers={"Accept": "application/json"})
    missing = client.get(f"{idp.base_url}/no/such/path")
    posted = client.post(
        f"{idp.authority('organizations')}/oauth2/v2.0/token",
        data={"grant_type": "no_such_grant", "client_id": "x"},
        headers={"Accept": "application/json"},
    )
    return [
        (got.status_code, json.loads(got.text)),
        missing.status_code,
        (posted.status_code, json.loads(posted.text)["error"]),
    ]


def test_http_client_without_one_given_is_a_live_client_as_in_msal(
    idp: DevIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in idp.trust_environment().items():  # requests reads the CA from here
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    authority = idp.authority("organizations")
    theirs = msal.PublicClientApplication("pca", authority=authority, instance_discovery=False)
    ours = tokensmith.PublicClientApplication("pca", authority=authority, verify=str(idp.ca_path))
    try:
        assert ours.http_client is ours.http_client
        answers = _exchange(ours.http_client, idp)
        assert answers == _exchange(theirs.http_client, idp)
        assert answers[2] == (400, "unsupported_grant_type")
        with pytest.raises(RuntimeError):
            ours.http_client.get(f"{idp.base_url}/no/such/path").raise_for_status()
    finally:
        theirs.http_client.close()
        ours.close()


def test_the_async_twin_has_an_async_http_client(idp: DevIdP) -> None:
    authority = idp.authority("organizations")
    app = tokensmith.aio.PublicClientApplication(
        "pca", authority=authority, verify=str(idp.ca_path)
    )

    async def call() -> Any:
        try:
            response = await app.http_client.get(
                f"{authority}/v2.0/.well-known/openid-configuration"
            )
            return response.status_code, "token_endpoint" in response.json()
        finally:
            await app.close()

    assert asyncio.run(call()) == (200, True)


def test_a_given_http_client_is_what_both_send_through() -> None:
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        app = module.PublicClientApplication("pca", authority=AUTHORITY, http_client=server)
        before = len(server.sent)
        answer = app.http_client.get(f"{AUTHORITY}/not/cached/by/msal")
        assert answer.status_code == 404
        assert len(server.sent) == before + 1


def _caught(module: Any, credential: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module.ConfidentialClientApplication(
            "cca", client_credential=credential, authority=AUTHORITY, http_client=FakeEntraHttp()
        )
    return [w for w in caught if "client_assertion" in str(w.message)]


@pytest.mark.parametrize("assertion", ["a.b.c", b"a.b.c"])
def test_a_static_client_assertion_warns_as_msal_warns(assertion: Any) -> None:
    (theirs,) = _caught(msal, {"client_assertion": assertion})
    (ours,) = _caught(tokensmith, {"client_assertion": assertion})
    assert ours.category is theirs.category is DeprecationWarning
    assert ours.filename == theirs.filename == __file__  # both point at the caller


def test_a_callable_client_assertion_does_not_warn() -> None:
    for module in (msal, tokensmith):
        assert _caught(module, {"client_assertion": lambda: "a.b.c"}) == []
