"""Describe a request for logs and error messages without leaking what it carries.

A token request's query string and form body hold codes, refresh tokens and secrets;
its URL may even carry user-info. These helpers keep only what is safe to show: the
scheme, host, port and path, plus the *names* of query parameters.
"""

from __future__ import annotations

from collections.abc import Mapping

from tokensmith.protocol.http import describe_url, host_of

__all__ = ["describe_url", "host_of", "scrub"]


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
