"""MSAL-shaped result dicts, with typed attribute access and secret-free reprs.

A :class:`TokenResult` *is* the dict MSAL Python returns (``result["access_token"]``
works, ``json.dumps(result)`` works), and also offers attributes
(``result.access_token``, ``result.error``) for typed code. Its ``repr`` masks every
secret, so printing a result never leaks a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith._jwt import decode_jwt_claims
from tokensmith._redact import redact_mapping

__all__ = [
    "TOKEN_SOURCE_BROKER",
    "TOKEN_SOURCE_CACHE",
    "TOKEN_SOURCE_IDP",
    "Account",
    "TokenResult",
    "cache_hit_result",
    "error_result",
    "idp_result",
]

TOKEN_SOURCE_IDP = "identity_provider"
TOKEN_SOURCE_CACHE = "cache"
TOKEN_SOURCE_BROKER = "broker"


class TokenResult(dict[str, Any]):
    """A token or error result: a plain dict with attribute access."""

    __slots__ = ()

    @property
    def access_token(self) -> str | None:
        return self.get("access_token")

    @property
    def token_type(self) -> str | None:
        return self.get("token_type")

    @property
    def expires_in(self) -> int | None:
        return self.get("expires_in")

    @property
    def refresh_on(self) -> int | None:
        return self.get("refresh_on")

    @property
    def refresh_token(self) -> str | None:
        return self.get("refresh_token")

    @property
    def id_token(self) -> str | None:
        return self.get("id_token")

    @property
    def id_token_claims(self) -> dict[str, Any] | None:
        return self.get("id_token_claims")

    @property
    def scope(self) -> str | None:
        return self.get("scope")

    @property
    def token_source(self) -> str | None:
        return self.get("token_source")

    @property
    def error(self) -> str | None:
        return self.get("error")

    @property
    def error_description(self) -> str | None:
        return self.get("error_description")

    @property
    def error_codes(self) -> list[int] | None:
        return self.get("error_codes")

    @property
    def suberror(self) -> str | None:
        return self.get("suberror")

    @property
    def classification(self) -> str | None:
        return self.get("classification")

    @property
    def correlation_id(self) -> str | None:
        return self.get("correlation_id")

    @property
    def ok(self) -> bool:
        """True when the result carries an access token and no error."""
        return "error" not in self and "access_token" in self

    def __repr__(self) -> str:
        return f"TokenResult({redact_mapping(self)!r})"

    __str__ = __repr__


def idp_result(response: Mapping[str, Any], now: float) -> TokenResult:
    """Shape a token-endpoint success the way MSAL returns it.

    Keys starting with ``_`` and ``refresh_in`` are dropped; ``refresh_on`` is added
    from ``refresh_in``; ``id_token_claims`` from the id_token; ``token_source``.

    Raises:
        ProtocolError: the id_token cannot be decoded.
    """
    result = TokenResult(
        (k, v) for k, v in response.items() if k != "refresh_in" and not k.startswith("_")
    )
    if "refresh_in" in response:
        result["refresh_on"] = int(now + int(response["refresh_in"]))
    if "id_token" in response:
        result["id_token_claims"] = decode_jwt_claims(response["id_token"])
    if "access_token" in response:
        result["token_source"] = TOKEN_SOURCE_IDP
    return result


def cache_hit_result(
    entry: Mapping[str, Any], now: float, expires_on: int | None = None
) -> TokenResult:
    """Shape a cached access token exactly as MSAL does (four or five keys);
    ``expires_on`` is the entry's, when the caller has already read it."""
    if expires_on is None:
        expires_on = int(entry["expires_on"])
    result = TokenResult()  # (item by item: cheaper than keywords, same order)
    result["access_token"] = entry["secret"]
    result["token_type"] = entry.get("token_type", "Bearer")
    result["expires_in"] = int(expires_on - now)
    result["token_source"] = TOKEN_SOURCE_CACHE
    refresh_on = entry.get("refresh_on")
    if refresh_on:
        result["refresh_on"] = int(refresh_on)
    return result


def error_result(error: str, description: str, **extra: Any) -> TokenResult:
    """An MSAL-style error dict raised by tokensmith itself (not by the provider)."""
    result = TokenResult(error=error, error_description=description)
    result.update(extra)
    return result


class Account(dict[str, Any]):
    """An account as ``get_accounts`` returns it: MSAL's account dict, read-only.

    Accounts are values: the same objects are handed out until the cache's accounts
    change, so mutating one is refused (``TypeError``). ``dict(account)`` gives a
    mutable copy.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("accounts are read-only; use dict(account) for a mutable copy")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))
