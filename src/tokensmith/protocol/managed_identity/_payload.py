"""What every managed-identity source shares in its answers: a JSON object body, and
the lifetime as ``expires_in`` seconds (some sources send only ``expires_on``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tokensmith.errors import ProtocolError
from tokensmith.protocol.http import HttpResponse

__all__ = ["json_payload", "seconds_left", "token_result"]


def json_payload(response: HttpResponse) -> dict[str, Any]:
    """The response body as a JSON object.

    Raises:
        ProtocolError: (a ``ValueError``, as MSAL's ``JSONDecodeError``) not JSON.
    """
    try:
        payload = json.loads(response.text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(
            f"The managed identity endpoint answered HTTP {response.status_code} "
            "with a body that is not JSON"
        ) from exc
    if not isinstance(payload, dict):
        raise ProtocolError("The managed identity endpoint answered a JSON non-object")
    return payload


def seconds_left(expires_on: Any, now: float) -> int:
    """``expires_in`` from an epoch ``expires_on`` (string or number).

    Raises:
        ProtocolError: not a number.
    """
    try:
        return int(expires_on) - int(now)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"expires_on is not an epoch time: {expires_on!r}") from exc


def token_result(
    payload: Mapping[str, Any], expires_in: Any, *, token_type: Any = None
) -> dict[str, Any]:
    """A source's success normalised to OAuth 2.0's shape, as MSAL returns it."""
    try:
        lifetime = int(expires_in)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"expires_in is not a number: {expires_in!r}") from exc
    return {
        "access_token": payload["access_token"],
        "expires_in": lifetime,
        "resource": payload.get("resource"),
        "token_type": token_type if token_type is not None else payload.get("token_type", "Bearer"),
    }
