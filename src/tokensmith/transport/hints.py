"""Say what went wrong and what to do: the one place that words transport failures.

A failed request is described by the step it served (named from the URL's path:
instance discovery, OpenID discovery, token request, ...), the URL it used (scheme,
host, path and query *names* only, :func:`~tokensmith.transport._describe.describe_url`)
and, when the cause is recognisable, a hint:

* certificate verification failed: pass ``verify=`` the CA bundle (the dev IdP's
  ``ca.pem``) or set ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``;
* connection refused: is the identity provider running at host:port?
* host name not found: check the spelling of the authority's host;
* an ``http://`` server that hung up: it probably speaks https; authorities must be
  https (MSAL accepts nothing else; tokensmith allows plain http only on loopback).

The last two and certificate failures are not retried: trying again cannot help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tokensmith.protocol.http import HttpRequest
from tokensmith.transport._describe import describe_url, host_of

__all__ = ["Explained", "explain", "step_of"]

_USER_IN_PATH = re.compile(r"(/userrealm/)[^?/]*")
_STEPS: tuple[tuple[str, str], ...] = (
    ("/discovery/instance", "instance discovery"),
    ("/.well-known/openid-configuration", "OpenID discovery"),
    ("/userrealm/", "user realm discovery"),
    ("/devicecode", "device authorization"),
    ("/discovery/v2.0/keys", "key set (JWKS) request"),
    ("/discovery/keys", "key set (JWKS) request"),
    ("/oauth2/v2.0/token", "token request"),
    ("/oauth2/token", "token request"),
    ("/metadata/identity/", "managed identity request"),
)


@dataclass(frozen=True, slots=True)
class Explained:
    """A failure, worded: the message and whether trying again may help."""

    message: str
    retryable: bool


def step_of(url: str) -> str:
    """The step a request to ``url`` serves, e.g. ``"OpenID discovery"``."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return "request"
    for marker, step in _STEPS:
        if marker in path:
            return step
    return "token request" if path.endswith("/token") else "request"


def explain(request: HttpRequest, error_name: str, reason: str) -> Explained:
    """Word a request that got no HTTP answer.

    Args:
        request: the request (only its method and URL shape are shown).
        error_name: the transport's exception class name (``ConnectError``...).
        reason: the transport's message, already scrubbed of request values.
    """
    step = step_of(request.url)
    shown = describe_url(request.url, request.params)
    if step == "user realm discovery":  # the path names the user: not for error messages
        shown = _USER_IN_PATH.sub(r"\1…", shown)
    hint, retryable = _hint(request.url, error_name, reason)
    message = f"{step} ({request.method} {shown}) failed: {error_name}: {reason.rstrip('.')}"
    return Explained(f"{message}; {hint}" if hint else message, retryable)


def _hint(url: str, error_name: str, reason: str) -> tuple[str | None, bool]:
    lowered = reason.lower()
    host = host_of(url)
    if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
        return (
            "the server's certificate is not trusted: pass verify='<CA bundle .pem>' (for "
            "the dev IdP its ca.pem) or set REQUESTS_CA_BUNDLE / SSL_CERT_FILE",
            False,
        )
    if "connection refused" in lowered or "errno 111" in lowered:
        return f"is the identity provider running at {host}?", True
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"the host name {host} was not found: check the authority's spelling", False
    if url.lower().startswith("http://") and error_name == "RemoteProtocolError":
        return (
            "the server hung up on plain http: if it speaks https (the dev IdP does), use "
            "an https:// authority (MSAL accepts only https authorities)",
            False,
        )
    return None, True
