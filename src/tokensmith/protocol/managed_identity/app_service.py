"""App Service, Functions, Container Apps and Automation's identity endpoint.

Docs: learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
(reference/entra-protocol.md §10). ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01``
with ``X-IDENTITY-HEADER: {IDENTITY_HEADER}`` (and ``Metadata: true``, which Automation
needs); the resource id selector is ``mi_res_id``. The answer has ``expires_on`` only;
errors are ``{"statusCode": ..., "message": ...}``, which MSAL reports as
``invalid_scope``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.protocol.managed_identity._payload import json_payload, seconds_left, token_result
from tokensmith.protocol.managed_identity.identity import (
    CLIENT_ID,
    OBJECT_ID,
    RESOURCE_ID,
    selector_params,
)

__all__ = ["API_VERSION", "SELECTORS", "parse", "request"]

API_VERSION = "2019-08-01"
SELECTORS = {CLIENT_ID: "client_id", RESOURCE_ID: "mi_res_id", OBJECT_ID: "object_id"}


def request(endpoint: str, secret: str, identity: Mapping[str, Any], resource: str) -> HttpRequest:
    """The token request to ``endpoint`` (``IDENTITY_ENDPOINT``)."""
    params = {"api-version": API_VERSION, "resource": resource}
    params.update(selector_params(identity, SELECTORS))
    headers = {"X-IDENTITY-HEADER": secret, "Metadata": "true"}
    return HttpRequest("GET", endpoint, params=params, headers=headers)


def parse(response: HttpResponse, now: float) -> dict[str, Any]:
    """The normalised token, or ``invalid_scope`` with the endpoint's status and message.

    Raises:
        ProtocolError: the body is not JSON.
    """
    payload = json_payload(response)
    if payload.get("access_token") and payload.get("expires_on"):
        return token_result(payload, seconds_left(payload["expires_on"], now))
    return {
        "error": "invalid_scope",
        "error_description": f"{payload.get('statusCode')}, {payload.get('message')}",
    }
