"""Entra-shaped OAuth errors (reference/entra-protocol.md §4.6-§4.7).

Endpoints raise :class:`OAuthError`; the server renders it with
:func:`error_body`: ``error_description`` starts with ``AADSTS<code>: `` and ends with
the ``Trace ID`` / ``Correlation ID`` / ``Timestamp`` tail, ``error_codes`` holds
integers, ``trace_id`` equals the ``x-ms-request-id`` response header and
``correlation_id`` echoes the client's ``client-request-id``.
"""

from __future__ import annotations

import datetime
from typing import Any

__all__ = ["OAuthError", "error_body", "missing_parameter", "timestamp"]


class OAuthError(Exception):
    """An OAuth error the dev IdP answers with.

    Attributes:
        error: the OAuth ``error`` value (``invalid_grant``, ...).
        code: the AADSTS number (0 for errors that carry none, like ``slow_down``).
        message: text after the ``AADSTS<code>: `` prefix.
        status: HTTP status (400, 401, 429, 5xx).
        suberror: Entra's ``suberror`` (``bad_token``, ``basic_action``, ...).
        claims: a claims challenge, as a JSON string.
        extra: further body members (``error_additional_info``, ...).
        headers: extra response headers (``Retry-After``).
        plain_text: render as ESTS's plain-text ``Too Many Requests`` instead of JSON.
    """

    def __init__(
        self,
        error: str,
        code: int,
        message: str,
        *,
        status: int = 400,
        suberror: str | None = None,
        claims: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        plain_text: bool = False,
    ) -> None:
        super().__init__(f"{error}: AADSTS{code}")
        self.error = error
        self.code = code
        self.message = message
        self.status = status
        self.suberror = suberror
        self.claims = claims
        self.extra = extra or {}
        self.headers = headers or {}
        self.plain_text = plain_text


def timestamp(now: float) -> str:
    """Entra's error timestamp format, ``yyyy-MM-dd HH:mm:ssZ``."""
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def error_body(
    err: OAuthError, *, trace_id: str, correlation_id: str, now: float, base_url: str
) -> dict[str, Any]:
    """The JSON body Entra sends for ``err``."""
    stamp = timestamp(now)
    prefix = f"AADSTS{err.code}: " if err.code else ""
    description = (
        f"{prefix}{err.message}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
    )
    body: dict[str, Any] = {
        "error": err.error,
        "error_description": description,
        "error_codes": [err.code] if err.code else [],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
    }
    if err.code:
        body["error_uri"] = f"{base_url}/error?code={err.code}"
    if err.suberror:
        body["suberror"] = err.suberror
    if err.claims:
        body["claims"] = err.claims
    body.update(err.extra)
    return body


def missing_parameter(name: str) -> OAuthError:
    """AADSTS900144: a required request parameter is absent."""
    return OAuthError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )
