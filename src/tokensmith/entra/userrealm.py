"""Entra's user realm discovery: is a user's domain managed by Entra or federated?

``GET https://{host}/common/userrealm/{username}?api-version=1.0`` returns
``account_type`` (``Managed`` | ``Federated`` | ``Unknown``) and, for federated
domains, ``federation_protocol``, ``federation_metadata_url``,
``federation_active_auth_url``. MSAL Python calls it before the password grant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from tokensmith._redact import logger
from tokensmith.protocol._wire import exchange, json_object
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest

__all__ = ["UNKNOWN", "user_realm"]

UNKNOWN: dict[str, Any] = {"account_type": "Unknown"}
_PATH_SAFE = "@!$&'()*+,;="  # RFC 3986 sub-delims and "@", allowed in a path segment


def user_realm(
    host: str, username: str, *, headers: Mapping[str, str] | None = None, scheme: str = "https"
) -> Flow[dict[str, Any]]:
    """Ask ``host`` (``name[:port]``) about ``username``'s realm.

    Returns:
        A flow returning the server's JSON object, or ``{"account_type": "Unknown"}``
        on 404, any other non-2xx status, or a body that is not a JSON object.
    """
    url = f"{scheme}://{host}/common/userrealm/{quote(username, safe=_PATH_SAFE)}"
    request = HttpRequest(
        "GET",
        url,
        params={"api-version": "1.0"},
        headers=dict(headers or {}),
        secret_fields=frozenset({"username"}),
    )
    response = yield from exchange(request)
    if not 200 <= response.status_code < 300:
        logger.debug("user realm discovery: HTTP %d", response.status_code)
        return dict(UNKNOWN)
    body, reason = json_object(response.text)
    if body is None or not isinstance(body.get("account_type"), str):
        logger.debug("user realm discovery: %s", reason or "no account_type")
        return dict(UNKNOWN)
    return body
