"""The HTTP values that cross between flows and transports, and the one reading of
``Retry-After`` (RFC 9110 §10.2.3).

They live in the protocol core: flows yield :class:`HttpRequest` and receive
:class:`HttpResponse`; transports import them from here, never the reverse.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations would
# be strings, and typing compiles each into a forward reference; the first compile()
# of a process sets up the AST types (~10 million instructions, every CLI process).

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from tokensmith.errors import ConfigurationError

__all__ = [
    "CallOptions",
    "HttpRequest",
    "HttpResponse",
    "Timeout",
    "check_timeout",
    "describe_url",
    "header",
    "host_of",
    "parse_retry_after",
    "retry_after_of",
]

_LONGEST = 10**9
"""No Retry-After is read as longer than this many seconds (about 31 years): a
finite number, whatever the server wrote."""


Timeout = float | tuple[float, float]
"""Seconds for every phase, or ``(connect, read)``, as ``requests`` takes them."""

_NOTHING: Mapping[str, str] = MappingProxyType({})
"""The default headers and extra keywords: empty, and read-only, as it is shared."""

# Named tuples, not dataclasses (see "Import cost" in docs/architecture.md); their
# ``_replace`` gives a changed copy.


def check_timeout(value: object) -> Timeout | None:
    """A ``timeout`` in one of ``requests``' forms: seconds, ``(connect, read)``, or
    ``None`` (no value), each number finite and above zero.

    Raises:
        ValueError: any other value (``ConfigurationError``).
    """
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return (_seconds(value[0]), _seconds(value[1]))
    return _seconds(value)


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError("timeout must be seconds, (connect, read) or None")
    return float(value)


class CallOptions(NamedTuple):
    """The transport keywords one acquire call was given (MSAL Python forwards the
    extra keywords of its ``acquire_token_*`` methods to ``http_client.post``).

    Attributes:
        timeout: seconds, or ``(connect, read)``, for this call's requests instead of
            the application's ``timeout`` (``None``: the application's).
        extra: any other keywords, handed to an MSAL-style ``http_client`` verbatim
            (``verify=``, ``proxies=``...; only such a client is given them).
    """

    timeout: Timeout | None = None
    extra: Mapping[str, object] = _NOTHING

    def __repr__(self) -> str:
        return f"CallOptions(timeout={self.timeout!r}, extra={sorted(self.extra)})"


class HttpRequest(NamedTuple):
    """One HTTP request, as the protocol core describes it.

    Attributes:
        method: ``"GET"`` or ``"POST"``.
        url: absolute URL, without the query parameters given in ``params``.
        params: query parameters, appended to ``url`` by the transport.
        data: form fields, sent ``application/x-www-form-urlencoded`` (POST only).
        headers: request headers.
        secret_fields: names of ``data``/``params`` fields that must never be logged.
        content: a raw body sent instead of ``data`` (a SOAP envelope), UTF-8 encoded;
            ``headers`` name its Content-Type. Never logged.
        retry_on_status: False for a request whose repetition has consequences (a
            password sent to a federation server, which answers a wrong one with HTTP
            500): its first HTTP answer is final whatever the status, neither retried
            nor replayed by the throttle. Getting no answer at all is still retried.
        per_call: the transport keywords of the acquire call this request belongs to
            (a token or device-code POST of a call given ``timeout=`` and the like).
    """

    method: str
    url: str
    params: Mapping[str, str] | None = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = _NOTHING
    secret_fields: frozenset[str] = frozenset()
    content: str | None = None
    retry_on_status: bool = True
    per_call: CallOptions | None = None

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.url})"


class HttpResponse(NamedTuple):
    """One HTTP response.

    Attributes:
        status_code: the HTTP status.
        text: the body decoded as text.
        headers: response headers with lower-cased names.
    """

    status_code: int
    text: str
    headers: Mapping[str, str] = _NOTHING

    def __repr__(self) -> str:
        return f"HttpResponse({self.status_code}, {len(self.text)} chars)"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Parse a ``Retry-After`` header value (RFC 9110 §10.2.3) into seconds to wait.

    Args:
        value: the header value: ``"120"`` (delta-seconds) or an HTTP-date such as
            ``"Wed, 21 Oct 2015 07:28:00 GMT"``.
        now: the current epoch time, used to turn an HTTP-date into a delay.

    Returns:
        Seconds to wait (``0.0`` for a date in the past), or ``None`` when the value is
        absent or not a valid ``Retry-After``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(min(int(text), _LONGEST)) if len(text) < 12 else float(_LONGEST)
    from datetime import timezone  # an HTTP-date is rare: its parser loads only here
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime form or "-0000": HTTP-dates are always GMT
        when = when.replace(tzinfo=timezone.utc)
    return min(max(0.0, when.timestamp() - now), float(_LONGEST))


def retry_after_of(response: HttpResponse, now: float) -> float | None:
    """Return the parsed ``Retry-After`` of ``response``, or ``None`` if absent/invalid."""
    return parse_retry_after(header(response.headers, "retry-after"), now)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (lower-case), whatever the case it was stored in."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, val in headers.items():  # tolerate responses built with mixed-case names
        if key.lower() == name:
            return val
    return None


def host_of(url: str) -> str:
    """Return ``host[:port]`` of ``url`` (never user-info), or ``"?"`` if it has none."""
    from urllib.parse import urlsplit  # not at import: a cache hit sends nothing

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
    from urllib.parse import parse_qsl, urlsplit

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
