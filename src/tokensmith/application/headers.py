"""Request headers every token request carries (correlation and library identity).

Entra reads ``client-request-id`` back as the ``correlation_id`` of an error, and the
``x-client-*`` headers as library telemetry. See reference/entra-protocol.md §7.1.
"""

from __future__ import annotations

import sys
import uuid

from tokensmith import __version__

__all__ = ["API_IDS", "SKU", "library_headers", "new_correlation_id", "request_headers"]

SKU = "tokensmith.Python"

API_IDS = {
    "silent": 84,
    "by_refresh_token": 85,
    "by_username_password": 301,
    "interactive": 169,
    "on_behalf_of": 523,
    "by_device_flow": 622,
    "for_client": 730,
    "by_authorization_code": 832,
}
"""MSAL's telemetry API ids, sent in ``x-client-current-telemetry``."""


def new_correlation_id() -> str:
    """A fresh correlation id (UUID4)."""
    return str(uuid.uuid4())


def library_headers(app_name: str | None, app_version: str | None) -> dict[str, str]:
    """The static headers of an application (computed once per app)."""
    headers = {
        "Accept": "application/json",
        "x-client-sku": SKU,
        "x-client-ver": __version__,
        "x-client-os": sys.platform,
        "x-ms-lib-capability": "retry-after, h429",
    }
    if app_name:
        headers["x-app-name"] = app_name
    if app_version:
        headers["x-app-ver"] = app_version
    return headers


def request_headers(
    base: dict[str, str],
    api: str,
    *,
    correlation_id: str | None = None,
    refresh_reason: int = 0,
    anchor_mailbox: str | None = None,
) -> dict[str, str]:
    """Headers for one request: ``base`` plus correlation, telemetry and CCS routing."""
    headers = dict(base)
    headers["client-request-id"] = correlation_id or new_correlation_id()
    headers["x-client-current-telemetry"] = f"4|{API_IDS[api]},{refresh_reason}|"
    if anchor_mailbox:
        headers["X-AnchorMailbox"] = anchor_mailbox
    return headers
