"""Small helpers shared by the flows: one request/response exchange, JSON bodies.

Nothing here performs I/O; :func:`exchange` only yields the request to the driver.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from tokensmith.errors import MsalServiceError, ProtocolError
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = [
    "FORM_HEADERS",
    "MAX_EPOCH",
    "MAX_LIFETIME",
    "exchange",
    "json_object",
    "seconds",
    "service_error",
    "text",
]

MAX_LIFETIME = 10 * 366 * 86400
"""The longest lifetime (seconds) accepted from a provider: ten years. Anything longer
is a broken or hostile answer, not a token policy."""
MAX_EPOCH = 32_503_680_000
"""The latest absolute time (epoch seconds, year 3000) accepted from a provider."""

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


def seconds(value: object, name: str, *, low: int = 0, high: int = MAX_LIFETIME) -> int:
    """A whole number of seconds from a JSON number or a numeric string (AAD v1 and
    managed identity send strings), finite and within ``[low, high]``.

    Raises:
        ProtocolError: a boolean, a container, a non-numeric or non-finite value, or
            one out of range. The message names the field, never the value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ProtocolError(f"'{name}' is not a number")
    try:
        number = (
            value
            if isinstance(value, int)
            else float(value.strip() if isinstance(value, str) else value)
        )
    except ValueError:
        raise ProtocolError(f"'{name}' is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ProtocolError(f"'{name}' is not a finite number")
    if not low <= number <= high:
        raise ProtocolError(f"'{name}' is out of range")
    return int(number)


def text(value: object, name: str, *, empty: bool = True) -> str:
    """``value`` if it is a string that can travel as UTF-8 (no lone surrogates).

    Raises:
        ProtocolError: not a string, not encodable, or empty when ``empty`` is False.
    """
    if not isinstance(value, str):
        raise ProtocolError(f"'{name}' is not a string")
    if not value.isascii():  # tokens are ASCII: the encoding test is for the rest
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError(f"'{name}' is not valid Unicode text") from None
    if not empty and not value:
        raise ProtocolError(f"'{name}' is empty")
    return value
