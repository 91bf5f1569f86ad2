"""Azure Machine Learning's identity endpoint (the 2017 MSI protocol).

No public protocol document; the facts are MSAL Python's and azure-identity's
(reference/entra-protocol.md §10). ``GET {MSI_ENDPOINT}?api-version=2017-09-01`` with
``secret: {MSI_SECRET}``; the client id selector is ``clientid`` (a known quirk of the
2017 API). The answer has ``expires_on`` only; any other answer is ``invalid_scope``.
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

API_VERSION = "2017-09-01"
SELECTORS = {CLIENT_ID: "clientid", RESOURCE_ID: "msi_res_id", OBJECT_ID: "object_id"}


def request(endpoint: str, secret: str, identity: Mapping[str, Any], resource: str) -> HttpRequest:
    """The token request to ``endpoint`` (``MSI_ENDPOINT``)."""
    params = {"api-version": API_VERSION, "resource": resource}
    params.update(selector_params(identity, SELECTORS))
    return HttpRequest("GET", endpoint, params=params, headers={"secret": secret})


def parse(response: HttpResponse, now: float) -> dict[str, Any]:
    """The normalised token, or ``invalid_scope`` carrying the payload.

    Raises:
        ProtocolError: the body is not JSON.
    """
    payload = json_payload(response)
    if payload.get("access_token") and payload.get("expires_on"):
        return token_result(payload, seconds_left(payload["expires_on"], now))
    return {"error": "invalid_scope", "error_description": str(payload)}
