"""Describe a request for logs and error messages without leaking what it carries.

A token request's query string and form body hold codes, refresh tokens and secrets;
its URL may even carry user-info. These helpers keep only what is safe to show: the
scheme, host, port and path, plus the *names* of query parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

__all__ = ["describe_url", "host_of", "scrub"]


def host_of(url: str) -> str:
    """Return ``host[:port]`` of ``url`` (never user-info), or ``"?"`` if it has none."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # e.g. a port that is not a number
        return "?"
    if not host:
        return "?"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def describe_url(url: str, params: Mapping[str, str] | None = None) -> str:
    """Return ``scheme://host[:port]/path`` followed by the query *names* only.

    Args:
        url: the request URL, possibly with its own query string.
        params: extra query parameters the transport will append.

    Returns:
        For example ``https://login.example/t/oauth2/v2.0/token?code=…&state=…``.
    """
    try:
        parts = urlsplit(url)
        query_names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    except ValueError:
        return "<unparsable URL>"
    query_names.extend(params or {})
    base = f"{parts.scheme}://{host_of(url)}{parts.path}" if parts.scheme else host_of(url)
    if not query_names:
        return base
    return base + "?" + "&".join(f"{name}=…" for name in query_names)


def scrub(text: str, *sources: Mapping[str, str] | None) -> str:
    """Replace in ``text`` every value found in ``sources`` (query, form) with ``***``.

    Used on messages of third-party exceptions before they reach a tokensmith error,
    in case a library quoted part of the request back.
    """
    for source in sources:
        for value in (source or {}).values():
            if isinstance(value, str) and len(value) >= 3 and value in text:
                text = text.replace(value, "***")
    return text
