"""Builders of token responses and cache events for the cache tests (no I/O)."""

from __future__ import annotations

import json
from typing import Any

from tokensmith._jwt import b64url_encode

NOW = 1_700_000_000
CLIENT_ID = "11112222-aaaa-bbbb-cccc-ddddeeeeffff"
UID = "aaaa1111-2222-3333-4444-555566667777"
UTID = "bbbb0000-9999-8888-7777-666655554444"
HOME = f"{UID}.{UTID}"
ENV = "login.microsoftonline.com"
COMMON_TOKEN_ENDPOINT = f"https://{ENV}/common/oauth2/v2.0/token"
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def user_token(
    cache: Any, uid: str, scopes: list[str] | None = None, now: float = NOW
) -> dict[str, Any] | None:
    """The access token of user ``uid`` (of tenant ``tid``, as the store tests sign
    users in) for ``scopes`` (``User.Read``) in the common realm, if cached."""
    found: dict[str, Any] | None = cache.find_access_token(
        home_account_id=f"{uid}.tid",
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=scopes or ["User.Read"],
        now=now,
    )
    return found


def b64json(value: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(value).encode())


def id_token(**claims: Any) -> str:
    """An unsigned compact JWT with the given claims (signature part is junk)."""
    return f"{b64json({'alg': 'none'})}.{b64json(claims)}.sig"


def client_info(uid: str = UID, utid: str = UTID) -> str:
    return b64json({"uid": uid, "utid": utid})


def user_event(
    *,
    uid: str = UID,
    utid: str = UTID,
    username: str = "ada@contoso.example",
    scope: list[str] | None = None,
    client_id: str = CLIENT_ID,
    token_endpoint: str = COMMON_TOKEN_ENDPOINT,
    grant_type: str = "authorization_code",
    secret_suffix: str = "",
    **response_extra: Any,
) -> dict[str, Any]:
    """An MSAL-shaped event for an auth-code sign-in (response scope as MSAL passes it)."""
    scopes = scope or ["User.Read", "offline_access", "openid", "profile"]
    response: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(scopes),
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": "at-" + uid + secret_suffix,
        "refresh_token": "rt-" + uid + secret_suffix,
        "id_token": id_token(
            sub="sub-" + uid, oid=uid, tid=utid, preferred_username=username, aud=client_id
        ),
        "client_info": client_info(uid, utid),
    }
    response.update(response_extra)
    return {
        "client_id": client_id,
        "scope": scopes,
        "token_endpoint": token_endpoint,
        "environment": token_endpoint.split("/")[2],
        "response": response,
        "data": {"client_id": client_id, "grant_type": grant_type, "scope": " ".join(scopes)},
        "params": {},
        "grant_type": grant_type,
    }


def app_event(
    scope: str = GRAPH_DEFAULT,
    *,
    client_id: str = CLIENT_ID,
    tenant: str = "contoso.example",
    data: dict[str, Any] | None = None,
    **response_extra: Any,
) -> dict[str, Any]:
    """A client-credentials event (no account, no refresh token)."""
    response: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": 3599,
        "access_token": "app-at-" + scope,
    }
    response.update(response_extra)
    endpoint = f"https://{ENV}/{tenant}/oauth2/v2.0/token"
    return {
        "client_id": client_id,
        "scope": [scope],
        "token_endpoint": endpoint,
        "environment": ENV,
        "response": response,
        "data": {"client_id": client_id, "grant_type": "client_credentials", **(data or {})},
        "params": {},
        "grant_type": "client_credentials",
    }


def obo_event(assertion_hash: str) -> dict[str, Any]:
    """An on-behalf-of response for user u0 (tenant ``tid``): its AccessToken and
    RefreshToken keys do not hold the assertion, so a new assertion for the same user
    reuses them."""
    event = user_event(uid="u0", utid="tid", scope=["api://down/.default"])
    event["user_assertion_hash"] = assertion_hash
    return event


def obo_token(cache: Any, assertion_hash: str) -> dict[str, Any] | None:
    """u0's on-behalf-of AccessToken for ``assertion_hash`` in ``cache``, if any."""
    found: dict[str, Any] | None = cache.find_access_token(
        home_account_id="u0.tid",
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=["api://down/.default"],
        now=NOW,
        user_assertion_hash=assertion_hash,
    )
    return found
