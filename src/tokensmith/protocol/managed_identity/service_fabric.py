"""Service Fabric's managed identity token service.

Docs: learn.microsoft.com/azure/service-fabric/how-to-managed-identity-service-fabric-app-code
(reference/entra-protocol.md §10). ``GET {IDENTITY_ENDPOINT}?api-version=2019-07-01-preview``
over HTTPS with ``Secret: {IDENTITY_HEADER}``; the server's certificate is self-signed
and trusted by its SHA-1 thumbprint (``IDENTITY_SERVER_THUMBPRINT``), not by a CA: the
transport must check it before the secret is sent. The identity is the cluster's
(no selector). A claims challenge sends the revoked token's SHA-256 as
``token_sha256_to_refresh``; client capabilities go as ``xms_cc``. Errors are
``{"error": {"code": ..., "message": ...}}``, mapped to OAuth 2.0 codes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.protocol.managed_identity._payload import json_payload, seconds_left, token_result
from tokensmith.protocol.managed_identity.identity import ManagedIdentityError

__all__ = [
    "API_VERSION",
    "ERROR_CODES",
    "normalize_thumbprint",
    "parse",
    "request",
    "token_sha256",
]

API_VERSION = "2019-07-01-preview"
ERROR_CODES = {
    "SecretHeaderNotFound": "unauthorized_client",
    "ManagedIdentityNotFound": "invalid_client",
    "ArgumentNullOrEmpty": "invalid_scope",
}
"""Service Fabric's error codes as OAuth 2.0 ``error`` values (others: ``invalid_request``)."""
_HEX = frozenset("0123456789abcdef")


def normalize_thumbprint(thumbprint: str) -> str:
    """The SHA-1 thumbprint in lower-case hex, without separators or spaces.

    Raises:
        ManagedIdentityError: not 40 hex digits.
    """
    text = "".join(ch for ch in str(thumbprint) if ch not in " \t\r\n:").lower()
    if len(text) != 40 or not set(text) <= _HEX:
        raise ManagedIdentityError(
            "IDENTITY_SERVER_THUMBPRINT must be a SHA-1 certificate thumbprint."
        )
    return text


def token_sha256(access_token: str) -> str:
    """What ``token_sha256_to_refresh`` carries: the token's SHA-256, hex."""
    return hashlib.sha256(access_token.encode("utf-8")).hexdigest()


def request(
    endpoint: str,
    secret: str,
    resource: str,
    *,
    token_to_refresh: str | None = None,
    client_capabilities: Sequence[str] = (),
) -> HttpRequest:
    """The token request to ``endpoint`` (``IDENTITY_ENDPOINT``).

    Raises:
        ManagedIdentityError: the endpoint is not an ``https`` URL with a host.
    """
    parts = urlsplit(endpoint)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ManagedIdentityError("Service Fabric managed identity endpoint must use HTTPS.")
    params = {"api-version": API_VERSION, "resource": resource}
    if token_to_refresh:
        params["token_sha256_to_refresh"] = token_sha256(token_to_refresh)
    if client_capabilities:
        params["xms_cc"] = ",".join(client_capabilities)
    return HttpRequest("GET", endpoint, params=params, headers={"Secret": secret})


def parse(response: HttpResponse, now: float) -> dict[str, Any]:
    """The normalised token, or the mapped error with the body as its description.

    Raises:
        ProtocolError: the body is not JSON.
    """
    payload = json_payload(response)
    if payload.get("access_token") and payload.get("expires_on"):
        return token_result(
            payload,
            seconds_left(payload["expires_on"], now),
            token_type=payload.get("token_type"),
        )
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return {
        "error": ERROR_CODES.get(code or "", "invalid_request"),
        "error_description": response.text,
    }
