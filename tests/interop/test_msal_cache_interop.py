"""The cache moves between MSAL Python 1.39 and tokensmith unchanged.

No identity provider is needed: events are fed to both caches directly, and MSAL's
applications get a fake ``http_client`` that only serves OIDC discovery documents.
"""

from __future__ import annotations

import json
import time
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.cache._helpers import (
    CLIENT_ID,
    ENV,
    HOME,
    NOW,
    UID,
    app_event,
    id_token,
    user_event,
)

from tokensmith.cache import SerializableTokenCache

pytestmark = pytest.mark.interop

TENANT = "contoso.example"
GRAPH = "https://graph.microsoft.com/.default"


class _Response:
    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


class DiscoveryOnlyHttpClient:
    """Serves ``/{tenant}/v2.0/.well-known/openid-configuration``; anything else is 404
    and recorded, so a test can assert MSAL never went to the token endpoint."""

    def __init__(self) -> None:
        self.unexpected: list[str] = []

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> _Response:
        prefix, suffix = f"https://{ENV}/", "/v2.0/.well-known/openid-configuration"
        if url.startswith(prefix) and url.endswith(suffix):
            tenant = url[len(prefix) : -len(suffix)]
            base = f"https://{ENV}/{tenant}"
            return _Response(
                200,
                {
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"https://{ENV}/{{tenantid}}/v2.0",
                },
            )
        self.unexpected.append(url)
        return _Response(404, {"error": "not_found"})

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> _Response:
        self.unexpected.append(url)
        return _Response(400, {"error": "invalid_request"})

    def close(self) -> None:
        pass


def _events(now: int) -> list[dict[str, Any]]:
    """Events shaped like those MSAL's own OAuth layer emits (event scope = granted scope)."""
    adfs = {
        "client_id": "adfs-client",
        "scope": ["openid", "profile"],
        "grant_type": "password",
        "token_endpoint": "https://fs.contoso.com/adfs/oauth2/token",
        "data": {},
        "response": {
            "access_token": "adfs-at",
            "expires_in": "3600",
            "id_token": id_token(sub="adfs-sub", upn="ada@contoso.com"),
        },
    }
    refresh = user_event(grant_type="refresh_token", secret_suffix="-2") | {
        "skip_account_creation": True
    }
    ssh = app_event(
        "ssh",
        data={"token_type": "ssh-cert", "key_id": "kid", "req_cnf": "{}"},
        token_type="ssh-cert",
    )
    managed = app_event("mi") | {
        "response": {"access_token": "mi-at", "expires_on": str(now + 86400)}
    }
    return [
        user_event(foci="1", refresh_in=1800),
        user_event(
            uid="u2",
            username="bob@contoso.example",
            grant_type="urn:ietf:params:oauth:grant-type:device_code",
        ),
        app_event(GRAPH, tenant=TENANT),
        app_event(GRAPH, tenant=TENANT, data={"fmi_path": "agents/1"}),
        app_event("api://x/.default", expires_in="100", ext_expires_in="200"),
        adfs,
        refresh,
        ssh,
        managed,
    ]


def _both(events: list[dict[str, Any]], now: int) -> tuple[Any, SerializableTokenCache]:
    theirs, ours = msal.SerializableTokenCache(), SerializableTokenCache()
    for event in events:
        theirs.add(json.loads(json.dumps(event)), now=now)
        ours.add(json.loads(json.dumps(event)), now=now)
    return theirs, ours


def test_same_events_serialize_to_the_same_json() -> None:
    theirs, ours = _both(_events(NOW), NOW)
    their_text, our_text = theirs.serialize(), ours.serialize()
    assert json.loads(our_text) == json.loads(their_text)
    assert our_text == their_text  # same key order, field order and formatting too


def test_msal_written_cache_is_found_by_our_lookups_and_search() -> None:
    theirs, _ = _both(_events(NOW), NOW)
    state = theirs.serialize()
    ours = SerializableTokenCache()
    ours.deserialize(state)
    theirs_again = msal.SerializableTokenCache()
    theirs_again.deserialize(state)

    at = ours.find_access_token(
        home_account_id=HOME,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=["user.read"],
        now=NOW,
    )
    assert at is not None and at["secret"] == "at-" + UID + "-2"
    app_at = ours.find_access_token(
        home_account_id=None,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm=TENANT,
        scopes=[GRAPH],
        now=NOW,
    )
    assert app_at is not None and "ext_cache_key" not in app_at
    rts = ours.find_refresh_tokens(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert [rt["secret"] for rt in rts] == ["rt-" + UID + "-2"]
    assert {a["username"] for a in ours.find_accounts(environments=[ENV])} == {
        "ada@contoso.example",
        "bob@contoso.example",
    }
    assert ours.find_id_token(
        home_account_id=HOME, environments=[ENV], realm="common", client_id=CLIENT_ID
    )
    assert ours.get_app_metadata(environment=ENV, client_id=CLIENT_ID) is not None

    queries: list[tuple[str, list[str] | None, dict[str, Any] | None]] = [
        (
            "AccessToken",
            ["User.Read"],
            {
                "home_account_id": HOME,
                "environment": ENV,
                "client_id": CLIENT_ID,
                "realm": "common",
            },
        ),
        (
            "AccessToken",
            [GRAPH],
            {"home_account_id": None, "environment": ENV, "client_id": CLIENT_ID, "realm": TENANT},
        ),
        ("AccessToken", None, None),
        ("RefreshToken", None, {"home_account_id": HOME, "environment": ENV}),
        ("Account", None, {"environment": ENV}),
        ("IdToken", None, {"home_account_id": HOME, "environment": ENV}),
        ("AppMetadata", None, None),
    ]
    for credential_type, target, query in queries:
        ours_found = list(ours.search(credential_type, target, query, now=NOW))
        theirs_found = list(theirs_again.search(credential_type, target, query, now=NOW))
        assert ours_found == theirs_found and ours_found, (credential_type, query)


def test_our_cache_is_used_by_msal_applications() -> None:
    now = int(time.time())
    ours = SerializableTokenCache()
    for event in _events(now)[:3]:
        event["response"].pop("refresh_in", None)  # an aging token would make MSAL refresh
        ours.add(event, now=now)
    obo = user_event(uid="obo-user", username="obo@contoso.example", scope=["api.read"])
    ours.add(obo | {"user_assertion_hash": "h"}, now=now)
    theirs = msal.SerializableTokenCache()
    theirs.deserialize(ours.serialize())
    assert len(list(theirs.search("AccessToken", ["User.Read"], {"home_account_id": HOME}))) == 1

    http = DiscoveryOnlyHttpClient()
    pca = msal.PublicClientApplication(
        CLIENT_ID, authority=f"https://{ENV}/common", token_cache=theirs, http_client=http
    )
    accounts = pca.get_accounts(username="ADA@contoso.example")
    assert [a["home_account_id"] for a in accounts] == [HOME]
    result = pca.acquire_token_silent(["User.Read"], account=accounts[0])
    assert result is not None and result["access_token"] == "at-" + UID
    assert result["token_source"] == "cache"

    cca = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential="not-used",
        authority=f"https://{ENV}/{TENANT}",
        token_cache=theirs,
        http_client=http,
    )
    result = cca.acquire_token_for_client([GRAPH])
    assert result["access_token"] == "app-at-" + GRAPH and result["token_source"] == "cache"
    assert http.unexpected == []


def test_msal_keeps_our_extension_fields_through_its_round_trip() -> None:
    ours = SerializableTokenCache()
    ours.add(user_event(scope=["api.read"]) | {"user_assertion_hash": "h"}, now=NOW)
    theirs = msal.SerializableTokenCache()
    theirs.deserialize(ours.serialize())
    back = SerializableTokenCache()
    back.deserialize(theirs.serialize())
    obo = back.find_obo_refresh_token(
        user_assertion_hash="h", environments=[ENV], client_id=CLIENT_ID
    )
    assert obo is not None and obo["user_assertion_hash"] == "h"
