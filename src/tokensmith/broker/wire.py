"""The Linux identity broker's D-Bus protocol: names and JSON (reference/broker-pop.md §1).

Microsoft's broker (``microsoft-identity-broker``) owns ``com.microsoft.identity.broker1``
on the user's session bus and serves interface ``com.microsoft.identity.Broker1`` at
``/com/microsoft/identity/broker1``. Every method takes three strings
(``protocolVersion`` = ``"0.0"``, ``correlationId``, ``requestJson``) and returns one
(``responseJson``). This module is the codec both sides share: tokensmith's D-Bus
client (:mod:`tokensmith.broker.dbus_client`) and tokensmith's open broker daemon
(:mod:`tokensmith.brokerd`). It does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tokensmith.broker.base import (
    BrokerAccount,
    BrokerError,
    BrokerStatus,
    BrokerToken,
    InteractiveRequest,
    PopParams,
    TokenRequest,
)

__all__ = [
    "AUTH_INTERACTIVE",
    "AUTH_SILENT",
    "BUS_NAME",
    "INTERFACE",
    "METHODS",
    "OBJECT_PATH",
    "PROTOCOL_VERSION",
    "account_from_json",
    "account_to_json",
    "accounts_from_json",
    "auth_parameters",
    "decode",
    "error_json",
    "pop_from_json",
    "pop_to_json",
    "raise_error",
    "scopes_of",
    "token_from_json",
    "token_to_json",
]

BUS_NAME = "com.microsoft.identity.broker1"
OBJECT_PATH = "/com/microsoft/identity/broker1"
INTERFACE = "com.microsoft.identity.Broker1"
PROTOCOL_VERSION = "0.0"
METHODS = (
    "acquireTokenInteractively",
    "acquireTokenSilently",
    "getAccounts",
    "removeAccount",
    "acquirePrtSsoCookie",
    "generateSignedHttpRequest",
    "cancelInteractiveFlow",
    "getLinuxBrokerVersion",
)
AUTH_SILENT = 1  # authorizationType CACHED_REFRESH_TOKEN
AUTH_INTERACTIVE = 6  # authorizationType INTERACTIVE
_POP_TOKEN_TYPE = 1  # accessTokenType: 0 Bearer, 1 PoP


def decode(text: str) -> dict[str, Any]:
    """A JSON object of the protocol.

    Raises:
        BrokerError: not a JSON object (status ``API_CONTRACT_VIOLATION``).
    """
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "the JSON is not an object")
    return value


def account_to_json(account: BrokerAccount) -> dict[str, Any]:
    """ACCOUNT as the broker expects it back: its own record when we have it."""
    if account.raw:
        return dict(account.raw)
    fields = {
        "homeAccountId": account.home_account_id,
        "localAccountId": (account.home_account_id or "").split(".")[0] or None,
        "environment": account.environment,
        "realm": account.realm,
        "username": account.username,
        "name": account.display_name,
        "clientInfo": account.client_info,
        "accountId": account.account_id,
    }
    return {k: v for k, v in fields.items() if v is not None}


def account_from_json(value: object) -> BrokerAccount:
    """An ACCOUNT object of the broker (its own id: ``accountId``, else
    ``homeAccountId``).

    Raises:
        BrokerError: not an account object.
    """
    if not isinstance(value, dict):
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "an account is not an object")

    def text(key: str) -> str | None:
        item = value.get(key)
        return item if isinstance(item, str) and item else None

    account_id = text("accountId") or text("homeAccountId")
    if account_id is None:
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "an account has no id")
    return BrokerAccount(
        account_id=account_id,
        home_account_id=text("homeAccountId"),
        environment=text("environment"),
        realm=text("realm"),
        username=text("username"),
        display_name=text("name"),
        client_info=text("clientInfo"),
        raw=dict(value),
    )


def pop_to_json(pop: PopParams) -> dict[str, str]:
    """POPPARAMS: the scheme, the request's method, host and path, the nonce."""
    return {
        "authenticationScheme": "pop",
        "httpMethod": pop.http_method,
        "uriHost": pop.host,
        "uriPath": pop.path,
        "nonce": pop.nonce,
    }


def pop_from_json(value: object) -> PopParams | None:
    """POPPARAMS of a request; None when absent or bearer.

    Raises:
        BrokerError: ``pop`` without a method or host.
    """
    if not isinstance(value, dict) or str(value.get("authenticationScheme", "")).lower() != "pop":
        return None
    method, host = value.get("httpMethod"), value.get("uriHost")
    if not (isinstance(method, str) and isinstance(host, str) and method and host):
        raise BrokerError(
            BrokerStatus.API_CONTRACT_VIOLATION, "popParams needs httpMethod, uriHost"
        )
    path = value.get("uriPath")
    if not isinstance(path, str) or not path:  # sso-mib sends the whole URL as uriHost
        parts = urlsplit(host if "://" in host else f"https://{host}")
        host, path = parts.netloc, parts.path or "/"
    nonce = value.get("nonce")
    return PopParams(method.upper(), host, path, nonce if isinstance(nonce, str) else "")


def auth_parameters(request: TokenRequest, authorization_type: int) -> dict[str, Any]:
    """AUTHPARAMS of a token request (account nested, as brokers > 2.0.1 require)."""
    params: dict[str, Any] = {
        "authority": request.authority,
        "authorizationType": authorization_type,
        "clientId": request.client_id,
        "redirectUri": request.redirect_uri,
        "requestedScopes": list(request.scopes),
        "additionalQueryParametersForAuthorization": dict(request.extra),
        "uxContextHandle": -1,
    }
    if request.account is not None:
        params["account"] = account_to_json(request.account)
        if request.account.username:
            params["username"] = request.account.username
    if request.claims:
        params["decodedClaims"] = request.claims
    if request.force_refresh:  # tokensmith's extension; other brokers ignore it
        params["forceRefresh"] = True
    if request.pop is not None:
        params["popParams"] = pop_to_json(request.pop)
    if isinstance(request, InteractiveRequest):
        if request.prompt:
            params["prompt"] = request.prompt
        if request.login_hint:
            params["username"] = request.login_hint
    return params


def token_from_json(response: Mapping[str, Any], fallback: BrokerAccount | None) -> BrokerToken:
    """The ``brokerTokenResponse`` of a token method.

    Raises:
        BrokerError: the broker's error, or a response without a token.
    """
    body = response.get("brokerTokenResponse")
    if not isinstance(body, dict):
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "no brokerTokenResponse")
    raise_error(body)
    token = body.get("accessToken")
    if not isinstance(token, str) or not token:
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "the response has no accessToken")
    account = account_from_json(body["account"]) if "account" in body else fallback
    if account is None:
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "the response names no account")
    expires = body.get("expiresOn")
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "expiresOn is not a number")
    granted = body.get("grantedScopes") or ()
    scopes = granted.split() if isinstance(granted, str) else [str(s) for s in granted]
    id_token = body.get("idToken")
    return BrokerToken(
        access_token=token,
        token_type="pop" if body.get("accessTokenType") == _POP_TOKEN_TYPE else "Bearer",
        expires_on=int(expires) // 1000,  # epoch milliseconds on the wire
        scopes=tuple(scopes),
        account=account,
        id_token=id_token if isinstance(id_token, str) and id_token else None,
    )


def token_to_json(token: BrokerToken) -> dict[str, Any]:
    """A ``brokerTokenResponse`` for ``token`` (the daemon's side)."""
    body: dict[str, Any] = {
        "accessToken": token.access_token,
        "accessTokenType": _POP_TOKEN_TYPE if token.token_type.lower() == "pop" else 0,
        "account": account_to_json(token.account),
        "expiresOn": token.expires_on * 1000,
        "extendedExpiresOn": token.expires_on * 1000,
        "grantedScopes": " ".join(token.scopes),
    }
    if token.account.client_info:
        body["clientInfo"] = token.account.client_info
    if token.id_token:
        body["idToken"] = token.id_token
    return {"brokerTokenResponse": body}


def error_json(error: BrokerError, *, token_method: bool) -> dict[str, Any]:
    """An error response: inside ``brokerTokenResponse`` for the token methods,
    top-level for the others (as the reference broker answers)."""
    err = {
        "status": error.status.value,
        "subStatus": 0,
        "errorCode": error.error_code,
        "tag": error.tag,
        "context": error.context,
    }
    return {"brokerTokenResponse": {"error": err}} if token_method else {"error": err}


def raise_error(body: Mapping[str, Any]) -> None:
    """Raise the broker's ``error`` object of ``body``, if it has one.

    Raises:
        BrokerError: the broker's error.
    """
    error = body.get("error")
    if error is None:
        return
    if not isinstance(error, dict):
        raise BrokerError(BrokerStatus.UNEXPECTED, str(error))
    context = error.get("context") or error.get("errorDescription") or "the broker failed"
    code = error.get("errorCode")
    tag = error.get("tag")
    raise BrokerError(
        BrokerStatus.of(error.get("status")),
        str(context),
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else 0,
        tag=tag if isinstance(tag, int) and not isinstance(tag, bool) else 0,
    )


def accounts_from_json(response: Mapping[str, Any]) -> list[BrokerAccount]:
    """The ``accounts`` of a ``getAccounts`` response (accounts without an id skipped).

    Raises:
        BrokerError: the broker's error, or no list.
    """
    raise_error(response)
    found = response.get("accounts", [])
    if not isinstance(found, list):
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "accounts is not a list")
    accounts: list[BrokerAccount] = []
    for item in found:
        try:
            accounts.append(account_from_json(item))
        except BrokerError:
            continue
    return accounts


def scopes_of(value: object) -> Sequence[str]:
    """``requestedScopes``: a list of strings, or a space-separated string."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value
    raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "requestedScopes is not a list")
