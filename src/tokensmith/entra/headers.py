"""The headers Entra reads on every request: correlation, library telemetry, routing.

Entra reads ``client-request-id`` back as the ``correlation_id`` of an error, the
``x-client-*`` headers and ``x-client-current-telemetry`` (``4|<api id>,<refresh
reason>|``) as library telemetry, and ``X-AnchorMailbox`` to route a request to the
region that holds the user (CCS). See reference/entra-protocol.md §7.1.
"""

from __future__ import annotations

import sys

from tokensmith._version import __version__

__all__ = [
    "ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE",
    "ACQUIRE_TOKEN_BY_DEVICE_FLOW",
    "ACQUIRE_TOKEN_BY_REFRESH_TOKEN",
    "ACQUIRE_TOKEN_BY_USERNAME_PASSWORD",
    "ACQUIRE_TOKEN_BY_USER_FIC",
    "ACQUIRE_TOKEN_FOR_CLIENT",
    "ACQUIRE_TOKEN_INTERACTIVE",
    "ACQUIRE_TOKEN_ON_BEHALF_OF",
    "ACQUIRE_TOKEN_SILENT",
    "GET_ACCOUNTS",
    "REMOVE_ACCOUNT",
    "SKU",
    "anchor_for_home_account",
    "anchor_for_username",
    "library_headers",
    "new_correlation_id",
    "request_headers",
]

SKU = "tokensmith.Python"

# MSAL's telemetry API ids (also MSAL's ClientApplication.ACQUIRE_TOKEN_*_ID constants)
ACQUIRE_TOKEN_SILENT = "84"
ACQUIRE_TOKEN_BY_REFRESH_TOKEN = "85"
ACQUIRE_TOKEN_INTERACTIVE = "169"
ACQUIRE_TOKEN_BY_USERNAME_PASSWORD = "301"
ACQUIRE_TOKEN_ON_BEHALF_OF = "523"
ACQUIRE_TOKEN_BY_DEVICE_FLOW = "622"
ACQUIRE_TOKEN_FOR_CLIENT = "730"
ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE = "832"
GET_ACCOUNTS = "902"
ACQUIRE_TOKEN_BY_USER_FIC = "950"
REMOVE_ACCOUNT = "903"


def new_correlation_id() -> str:
    """A fresh correlation id (UUID4)."""
    import uuid  # loads platform; a cache hit sends no request and needs none

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


def anchor_for_home_account(home_account_id: str | None) -> str | None:
    """``Oid:<uid>@<utid>`` for a ``<uid>.<utid>`` home account id (None without one)."""
    if not home_account_id or not isinstance(home_account_id, str):
        return None
    return "Oid:" + home_account_id.replace(".", "@", 1)


def anchor_for_username(username: str) -> str:
    """``upn:<username>``, the routing of a username/password request."""
    return f"upn:{username}"


def request_headers(
    base: dict[str, str],
    api_id: str,
    *,
    correlation_id: str | None = None,
    refresh_reason: int = 0,
    anchor_mailbox: str | None = None,
) -> dict[str, str]:
    """Headers for one request: ``base`` plus correlation, telemetry and CCS routing."""
    headers = dict(base)
    headers["client-request-id"] = correlation_id or new_correlation_id()
    headers["x-client-current-telemetry"] = f"4|{api_id},{refresh_reason}|"
    if anchor_mailbox:
        headers["X-AnchorMailbox"] = anchor_mailbox
    return headers
