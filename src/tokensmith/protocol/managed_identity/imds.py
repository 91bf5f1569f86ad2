"""The VM's Instance Metadata Service (IMDS) token endpoint.

Docs: learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token
(reference/entra-protocol.md §10). ``GET {host}/metadata/identity/oauth2/token`` with
``api-version=2018-02-01`` and ``Metadata: true``; lifetimes come as strings. IMDS
answers 404 and 410 while it is being updated (410: back within 70 s): those are
retried after :data:`RETRY_DELAYS` (429 and 5xx are retried with backoff and
``Retry-After`` by the transport's retry policy underneath, so not a second time here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.protocol.managed_identity._payload import json_payload, token_result
from tokensmith.protocol.managed_identity.identity import (
    CLIENT_ID,
    OBJECT_ID,
    RESOURCE_ID,
    selector_params,
)

__all__ = [
    "API_VERSION",
    "RETRY_DELAYS",
    "RETRY_STATUSES",
    "SELECTORS",
    "parse",
    "request",
    "should_retry",
]

API_VERSION = "2018-02-01"
SELECTORS = {CLIENT_ID: "client_id", RESOURCE_ID: "msi_res_id", OBJECT_ID: "object_id"}
RETRY_STATUSES = frozenset({404, 410})
"""Statuses IMDS answers while it updates (the transport retries 429 and 5xx)."""
RETRY_DELAYS = (2.0, 6.0, 14.0, 30.0)
"""Seconds to wait before each retry of a :data:`RETRY_STATUSES` answer (IMDS guidance:
exponential, about 2, 6, 14 and 30 s; 52 s in all, inside 410's 70 s)."""


def request(
    endpoint: str,
    identity: Mapping[str, Any],
    resource: str,
    *,
    sku: str,
    version: str,
    request_id: str,
) -> HttpRequest:
    """The token request to IMDS at ``endpoint``."""
    params = {"api-version": API_VERSION, "resource": resource}
    params.update(selector_params(identity, SELECTORS))
    headers = {
        "Metadata": "true",
        "x-client-SKU": sku,
        "x-client-Ver": version,
        "x-ms-client-request-id": request_id,
    }
    return HttpRequest("GET", endpoint, params=params, headers=headers)


def should_retry(response: HttpResponse, attempt: int) -> float | None:
    """Seconds to wait before trying again after ``attempt`` (0-based), or None."""
    if response.status_code in RETRY_STATUSES and attempt < len(RETRY_DELAYS):
        return RETRY_DELAYS[attempt]
    return None


def parse(response: HttpResponse) -> dict[str, Any]:
    """The normalised token, or IMDS's own ``{error, error_description}`` as it came.

    Raises:
        ProtocolError: the body is not JSON.
    """
    payload = json_payload(response)
    if payload.get("access_token") and payload.get("expires_in"):
        return token_result(payload, payload["expires_in"])
    return payload
