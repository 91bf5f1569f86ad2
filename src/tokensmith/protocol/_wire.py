"""Small helpers shared by the flows: one request/response exchange, JSON bodies.

Nothing here performs I/O; :func:`exchange` only yields the request to the driver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tokensmith.errors import MsalServiceError
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = ["FORM_HEADERS", "exchange", "json_object", "service_error"]

FORM_HEADERS = {"Accept": "application/json"}
"""Headers every form POST carries (MSAL Python sends ``Accept: application/json``)."""


def exchange(request: HttpRequest) -> Flow[HttpResponse]:
    """Yield ``request`` to the driver and return the response it sends back.

    Raises:
        RuntimeError: the driver resumed the flow without a response (a driver bug).
    """
    reply = yield request
    if not isinstance(reply, HttpResponse):
        raise RuntimeError("the driver sent no response for an HTTP request")
    return reply


def json_object(text: str) -> tuple[dict[str, Any] | None, str]:
    """Parse ``text`` as a JSON object.

    Returns:
        ``(object, "")`` on success, else ``(None, reason)`` where ``reason`` says
        what was wrong without quoting the body.
    """
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, "the body is not JSON" if text.strip() else "the body is empty"
    if not isinstance(value, dict):
        return None, f"the body is a JSON {type(value).__name__}, not an object"
    return value, ""


def service_error(what: str, status: int, body: Mapping[str, Any] | None) -> MsalServiceError:
    """The :class:`MsalServiceError` for an endpoint that failed (5xx, 429, ...), with
    the OAuth ``error`` and ``error_description`` of ``body`` when they are strings.
    The message names the endpoint and the status, never the body."""
    error = body.get("error") if body else None
    description = body.get("error_description") if body else None
    code = error if isinstance(error, str) else None
    return MsalServiceError(
        f"{what} failed with HTTP {status}" + (f": {code}" if code else ""),
        status_code=status,
        error=code,
        error_description=description if isinstance(description, str) else None,
    )
