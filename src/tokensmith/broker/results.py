"""A broker's answer in the shape of a token-endpoint response, as MSAL's broker
module builds it (``_convert_result`` / ``_convert_error`` in MSAL 1.39).

The engine hands the success to the cache (pseudo grant type ``broker``) and the
failure to the caller as MSAL's ``broker_error`` dict.
"""

from __future__ import annotations

from typing import Any

from tokensmith._jwt import decode_jwt_claims
from tokensmith.broker.base import BrokerError, BrokerStatus, BrokerToken
from tokensmith.broker.policy import redirect_uris_to_register
from tokensmith.errors import ConfigurationError, ProtocolError

__all__ = ["RedirectUriError", "broker_error_fields", "status_name", "token_response"]

_MISSING_REDIRECT_URI = ("AADSTS50011", "AADSTS7000218")


class RedirectUriError(ConfigurationError):
    """The broker says the app has not registered a broker redirect URI
    (MSAL's ``msal.broker.RedirectUriError``, a ``ValueError``)."""


def status_name(status: BrokerStatus) -> str:
    """MSALRuntime's name of ``status`` (``Status_InteractionRequired``)."""
    return "Status_" + "".join(word.title() for word in status.name.split("_"))


def token_response(token: BrokerToken, now: float) -> dict[str, Any]:
    """``token`` as the JSON a token endpoint would have answered (MSAL's keys;
    ``token_type`` ``"pop"`` or ``"bearer"``; ``_account_id`` for the cache)."""
    response: dict[str, Any] = {
        "access_token": token.access_token,
        "token_type": "pop" if token.token_type.lower() == "pop" else "bearer",
        "expires_in": max(0, int(token.expires_on - now)),
        "_account_id": token.account.account_id,
    }
    if token.id_token:
        response["id_token"] = token.id_token
        try:
            response["id_token_claims"] = decode_jwt_claims(token.id_token)
        except ProtocolError:
            response.pop("id_token")
    if token.account.client_info:
        response["client_info"] = token.account.client_info
    if token.scopes:
        response["scope"] = " ".join(token.scopes)
    return response


def broker_error_fields(error: BrokerError, client_id: str) -> dict[str, Any]:
    """MSAL's ``broker_error`` dict for ``error``.

    Raises:
        RedirectUriError: the broker's context quotes AADSTS50011 or AADSTS7000218 (the
            app lacks a broker redirect URI); the message lists the three to register.
    """
    context = error.context
    if any(code in context for code in _MISSING_REDIRECT_URI):
        uris = redirect_uris_to_register(client_id)
        listed = "\n".join(f"({n}) {uri}" for n, uri in enumerate(uris, 1))
        raise RedirectUriError(
            f"The broker needs the current app to register these redirect_uri\n{listed}"
        )
    status = status_name(error.status)
    return {
        "error": "broker_error",
        "error_description": (
            f"{context}. Status: {status}, Error code: {error.error_code}, Tag: {error.tag}"
        ),
    }
