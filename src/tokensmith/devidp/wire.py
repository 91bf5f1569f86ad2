"""The dev IdP's own small HTTP request/response values.

Endpoints are plain functions from a :class:`Request` to a :class:`Response`, so they
are testable without a socket; :mod:`tokensmith.devidp.server` adapts them to
``http.server``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

__all__ = ["Request", "Response", "html_page", "json_object", "json_response", "redirect"]


@dataclass(frozen=True)
class Request:
    """An incoming request.

    Attributes:
        method: ``GET`` or ``POST``.
        path: the URL path, percent-decoded.
        query: query parameters (first value of each).
        form: ``application/x-www-form-urlencoded`` body parameters.
        headers: header names lower-cased.
        body: the raw body (a SOAP envelope for the WS-Trust endpoints).
    """

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)

    def param(self, name: str) -> str | None:
        """A parameter from the body, else the query string (Entra accepts both)."""
        value = self.form.get(name)
        return value if value is not None else self.query.get(name)


@dataclass
class Response:
    """An outgoing response; the server adds ``x-ms-request-id`` and friends."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_object(text: str) -> dict[str, Any] | None:
    """Parse ``text`` as a JSON object; None when it is not one (or nests absurdly)."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "Expires": "-1"}


def json_response(
    body: Any, status: int = 200, *, cacheable: bool = False, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response with Entra's caching headers (§1.3, §4.5)."""
    out = {"Content-Type": "application/json; charset=utf-8"}
    if cacheable:
        out.update({"Cache-Control": "max-age=86400, private", "Access-Control-Allow-Origin": "*"})
    else:
        out.update(_NO_STORE)
    out.update(headers or {})
    return Response(status, json.dumps(body).encode("utf-8"), out)


def html_page(title: str, body_html: str, status: int = 200) -> Response:
    """A small HTML page; ``body_html`` must already be escaped."""
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{body_html}</body></html>"
    )
    headers = {"Content-Type": "text/html; charset=utf-8"}
    headers.update(_NO_STORE)
    return Response(status, page.encode("utf-8"), headers)


def redirect(
    location: str, params: dict[str, str] | None = None, fragment: bool = False
) -> Response:
    """A 302 to ``location`` with ``params`` in the query (or the fragment)."""
    if params:
        joiner = "#" if fragment else ("&" if "?" in location else "?")
        location = f"{location}{joiner}{urlencode(params)}"
    return Response(302, b"", {"Location": location, **_NO_STORE})
