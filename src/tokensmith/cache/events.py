"""Turn a token-obtained event into the cache entries MSAL Python 1.39 writes.

The event is MSAL's de-facto ``TokenCache.add(event)`` contract: ``client_id``,
``scope`` (requested scopes), ``token_endpoint``, ``environment``, ``response`` (the
token response JSON, RFC 6749 §5.1), ``data`` (the request body), ``grant_type`` and
the extras ``_account_id``, ``username``, ``authority_type``,
``skip_account_creation``. tokensmith adds ``user_assertion_hash`` (on-behalf-of),
stored on the AccessToken and RefreshToken entries under MSAL .NET's field name.

Everything is decoded and checked here, before the cache is touched, so a malformed
``id_token`` or ``client_info`` can never leave a half-written cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith._jwt import decode_json_part, decode_jwt_claims
from tokensmith.cache.schema import (
    ACCOUNT_ESTABLISHING_GRANTS,
    AuthorityType,
    CredentialType,
    compute_ext_cache_key,
    split_token_endpoint,
)
from tokensmith.errors import ConfigurationError, ProtocolError

__all__ = ["entries_from_event"]

_DEFAULT_EXPIRES_IN = 600
"""Lifetime assumed when a response has neither ``expires_in`` nor ``expires_on``."""

Write = tuple[str, dict[str, Any]]


def entries_from_event(event: Mapping[str, Any], now: int) -> list[Write]:
    """Return ``(credential_type, entry)`` pairs, in MSAL's write order.

    Order: AccessToken, Account, IdToken, RefreshToken, AppMetadata (always).

    Raises:
        ConfigurationError: the event itself is malformed (not a mapping, bad scope,
            bad token_endpoint).
        ProtocolError: the response is malformed (id_token or client_info not
            decodable, non-numeric lifetimes).
    """
    if not isinstance(event, Mapping):
        raise ConfigurationError("a cache event must be a mapping")
    response = _mapping(event.get("response"), "response", ProtocolError)
    data = _mapping(event.get("data"), "data", ConfigurationError)
    environment: Any = None
    realm: str | None = None
    if "token_endpoint" in event:
        environment, realm = split_token_endpoint(event["token_endpoint"])
    if "environment" in event:
        environment = event["environment"]
    claims = _id_token_claims(response)
    client_info, home_account_id = _account_ids(response, claims)
    common = {"home_account_id": home_account_id, "environment": environment}
    client_id = event.get("client_id")
    target = " ".join(sorted(_scopes(event, response)))
    uah = event.get("user_assertion_hash")

    writes: list[Write] = []
    if response.get("access_token"):
        at = _access_token(response, data, now)
        at.update(common, client_id=client_id, target=target, realm=realm)
        at = _ordered_at(at)
        if uah:
            at["user_assertion_hash"] = uah
        writes.append((CredentialType.ACCESS_TOKEN, at))
    if client_info and not event.get("skip_account_creation"):
        writes.append((CredentialType.ACCOUNT, _account(event, data, claims, common, realm)))
    if response.get("id_token"):
        idt = {"credential_type": CredentialType.ID_TOKEN, "secret": response["id_token"]}
        idt.update(common, realm=realm, client_id=client_id)
        writes.append((CredentialType.ID_TOKEN, idt))
    if response.get("refresh_token"):
        rt = {"credential_type": CredentialType.REFRESH_TOKEN, "secret": response["refresh_token"]}
        rt.update(common, client_id=client_id, target=target, last_modification_time=str(now))
        if "foci" in response:
            rt["family_id"] = response["foci"]
        if uah:
            rt["user_assertion_hash"] = uah
        writes.append((CredentialType.REFRESH_TOKEN, rt))
    app: dict[str, Any] = {"client_id": client_id, "environment": environment}
    if "foci" in response:
        app["family_id"] = response["foci"]
    writes.append((CredentialType.APP_METADATA, app))
    return writes


def _mapping(value: object, what: str, error: type[Exception]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise error(f"the event's {what} must be a mapping")
    return value


def _as_int(value: object, field: str) -> int:
    """An integer from an int, a float or a numeric string (AAD v1 sends strings)."""
    if isinstance(value, bool):
        raise ProtocolError(f"{field} in the token response is not a number")
    if isinstance(value, int):
        return value
    try:
        return int(float(value)) if isinstance(value, (float, str)) else int(str(value))
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(f"{field} in the token response is not a number") from None


def _scopes(event: Mapping[str, Any], response: Mapping[str, Any]) -> list[str]:
    """Granted scopes (response ``scope``) if given, else the requested ones."""
    granted = response.get("scope")
    if granted is not None:
        if not isinstance(granted, str):
            raise ProtocolError("scope in the token response is not a string")
        return granted.split()
    requested = event.get("scope") or []
    if isinstance(requested, str):
        return requested.split()
    if not all(isinstance(s, str) for s in requested):
        raise ConfigurationError("the event's scope must be a list of strings")
    return list(requested)


def _id_token_claims(response: Mapping[str, Any]) -> dict[str, Any]:
    """Claims handed over by a broker, else decoded (unverified) from the id_token."""
    given = response.get("id_token_claims")
    if given:
        if not isinstance(given, dict):
            raise ProtocolError("id_token_claims is not a JSON object")
        return given
    id_token = response.get("id_token")
    return decode_jwt_claims(id_token, "id_token") if id_token else {}


def _account_ids(
    response: Mapping[str, Any], claims: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Return ``(client_info, home_account_id)``.

    ``uid.utid`` from Entra's client_info; else the id_token ``sub`` (ADFS); else
    nothing (client credentials).
    """
    if "client_info" in response:
        raw = response["client_info"]
        if not isinstance(raw, str):
            raise ProtocolError("client_info is not a string")
        info = decode_json_part(raw, "client_info")
        if "uid" in info and "utid" in info:
            uid, utid = info["uid"], info["utid"]
            if not isinstance(uid, str) or not isinstance(utid, str):
                raise ProtocolError("client_info's uid and utid must be strings")
            return info, f"{uid}.{utid}"
    if claims:
        if "sub" not in claims:
            raise ProtocolError("id_token has no sub claim")
        return {"uid": claims["sub"]}, claims["sub"]
    return {}, None


def _access_token(response: Mapping[str, Any], data: Mapping[str, Any], now: int) -> dict[str, Any]:
    """The AccessToken fields that depend on the response lifetimes and request body."""
    if response.get("expires_on"):  # managed identity sends an absolute time
        default_expires_in = _as_int(response["expires_on"], "expires_on") - now
    else:
        default_expires_in = _DEFAULT_EXPIRES_IN
    expires_in = _as_int(response.get("expires_in", default_expires_in), "expires_in")
    ext_expires_in = _as_int(response.get("ext_expires_in", expires_in), "ext_expires_in")
    at: dict[str, Any] = {
        "credential_type": CredentialType.ACCESS_TOKEN,
        "secret": response["access_token"],
        "token_type": response.get("token_type", "Bearer"),
        "cached_at": str(now),
        "expires_on": str(now + expires_in),
        "extended_expires_on": str(now + ext_expires_in),
    }
    if "key_id" in data:
        at["key_id"] = data["key_id"]
    ext_cache_key = compute_ext_cache_key(data)
    if ext_cache_key:
        at["ext_cache_key"] = ext_cache_key
    if "refresh_in" in response:
        at["refresh_on"] = str(now + _as_int(response["refresh_in"], "refresh_in"))
    return at


_AT_FIELD_ORDER = (
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "client_id",
    "target",
    "realm",
    "token_type",
    "cached_at",
    "expires_on",
    "extended_expires_on",
)


def _ordered_at(at: dict[str, Any]) -> dict[str, Any]:
    """Reorder the AccessToken fields as MSAL writes them (optional fields last)."""
    ordered = {name: at[name] for name in _AT_FIELD_ORDER}
    ordered.update((k, v) for k, v in at.items() if k not in ordered)
    return ordered


def _account(
    event: Mapping[str, Any],
    data: Mapping[str, Any],
    claims: Mapping[str, Any],
    common: Mapping[str, Any],
    realm: str | None,
) -> dict[str, Any]:
    """The Account entry; ``account_source`` only for account-establishing grants."""
    if "_account_id" in event:  # set by a broker / mid-tier
        local_account_id = event["_account_id"]
    else:
        local_account_id = claims.get("oid", claims.get("sub"))
    username = (
        claims.get("preferred_username", claims.get("upn"))
        or data.get("username")
        or event.get("username")
        or ""
    )
    default_type = AuthorityType.ADFS if realm == "adfs" else AuthorityType.MSSTS
    account: dict[str, Any] = dict(common)
    account.update(
        realm=realm,
        local_account_id=local_account_id,
        username=username,
        authority_type=event.get("authority_type", default_type),
    )
    if event.get("grant_type") in ACCOUNT_ESTABLISHING_GRANTS:
        account["account_source"] = event["grant_type"]
    return account
