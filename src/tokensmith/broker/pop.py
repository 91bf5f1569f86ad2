"""MSAL's ``PopAuthScheme`` as a broker's :class:`~tokensmith.broker.base.PopParams`.

``auth_scheme=PopAuthScheme(http_method, url, nonce)`` asks for a proof-of-possession
token bound to one HTTP request: the broker returns a signed HTTP request (SHR, the
Microsoft profile of draft-ietf-oauth-signed-http-request-03) for the method, the
URL's host (with its port) and path, and the resource's nonce.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tokensmith.broker.base import PopParams
from tokensmith.errors import ConfigurationError

__all__ = ["pop_params_of"]


def pop_params_of(auth_scheme: Any) -> PopParams | None:
    """The PoP parameters of ``auth_scheme`` (tokensmith's or MSAL's
    ``PopAuthScheme``; both keep them as ``_http_method``, ``_url``, ``_nonce``, as
    MSAL code expects); None for None.

    Raises:
        ValueError: ``auth_scheme`` is not a ``PopAuthScheme``.
    """
    if auth_scheme is None:
        return None
    method = getattr(auth_scheme, "_http_method", None)
    url = getattr(auth_scheme, "_url", None)
    nonce = getattr(auth_scheme, "_nonce", None)
    if not (isinstance(method, str) and isinstance(nonce, str) and url is not None):
        raise ConfigurationError("auth_scheme must be a PopAuthScheme(http_method, url, nonce)")
    parts = urlsplit(url) if isinstance(url, str) else url
    host = getattr(parts, "netloc", "")
    if not host:
        raise ConfigurationError("the PopAuthScheme url needs a host")
    return PopParams(method, host, getattr(parts, "path", "") or "/", nonce)
