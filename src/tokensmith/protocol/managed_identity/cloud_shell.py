"""Azure Cloud Shell's local token endpoint.

MSAL Python serves Cloud Shell through ``PublicClientApplication`` and lets its
``ManagedIdentityClient`` fall through to IMDS there; tokensmith's client asks Cloud
Shell's own endpoint instead (reference/entra-protocol.md §10): ``POST {MSI_ENDPOINT}``
(default ``http://localhost:50342/oauth2/token``) with the form ``resource=...`` and
``Metadata: true``. Errors are ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from typing import Any

from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.protocol.managed_identity._payload import json_payload, token_result

__all__ = ["parse", "request"]


def request(endpoint: str, resource: str) -> HttpRequest:
    """The token request (Cloud Shell knows one identity: the signed-in user's)."""
    return HttpRequest("POST", endpoint, data={"resource": resource}, headers={"Metadata": "true"})


def parse(response: HttpResponse) -> dict[str, Any]:
    """The normalised token, or ``{error, error_description}`` from Cloud Shell's error.

    Raises:
        ProtocolError: the body is not JSON.
    """
    payload = json_payload(response)
    if response.status_code >= 300 or not payload.get("access_token"):
        error = payload.get("error")
        fields = error if isinstance(error, dict) else {}
        return {
            k: v
            for k, v in (
                ("error", fields.get("code") or "invalid_request"),
                ("error_description", fields.get("message") or response.text),
            )
            if v
        }
    return token_result(payload, payload.get("expires_in"))
