"""Adapt an MSAL-style ``http_client`` object to the :class:`Transport` interface.

MSAL Python accepts any object with (reference: msal-python.md §4.1)::

    post(url, params=None, data=None, headers=None, **kwargs) -> response
    get(url, params=None, headers=None, **kwargs) -> response

whose response has ``status_code`` (or ``status``), ``text`` and, optionally,
``headers`` (any mapping). A ``requests.Session`` is such an object.

Exceptions raised by the user's client propagate **unchanged**: application code
written for MSAL catches, for example, ``requests.exceptions.RequestException``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.transport._describe import host_of
from tokensmith.transport.base import HttpRequest, HttpResponse

__all__ = ["HttpClientTransport"]


class HttpClientTransport:
    """A :class:`~tokensmith.transport.base.Transport` over an MSAL-style client.

    Args:
        http_client: an object with ``get`` and ``post`` as MSAL Python expects.
        timeout: when given, passed to every call as ``timeout=`` (``requests``
            understands it); when ``None`` nothing extra is passed.

    Raises:
        ConfigurationError: if ``http_client`` lacks a callable ``get`` or ``post``.
    """

    def __init__(self, http_client: Any, *, timeout: float | None = None) -> None:
        for name in ("get", "post"):
            if not callable(getattr(http_client, name, None)):
                raise ConfigurationError(f"http_client has no callable {name}() method")
        self.http_client = http_client
        self._timeout = timeout
        self._closed = False

    def __repr__(self) -> str:
        return f"HttpClientTransport({type(self.http_client).__name__})"

    def __enter__(self) -> HttpClientTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` through the wrapped client and normalise its response.

        Raises:
            ConfigurationError: for a method other than GET or POST.
            ProtocolError: the client returned something without a status or text.
            Exception: whatever the wrapped client raises, unchanged.
        """
        method = request.method.upper()
        kwargs: dict[str, Any] = {
            "params": dict(request.params) if request.params else None,
            "headers": dict(request.headers),
        }
        if self._timeout is not None:
            kwargs["timeout"] = self._timeout
        if method == "GET":
            raw = self.http_client.get(request.url, **kwargs)
        elif method == "POST":
            data = dict(request.data) if request.data is not None else None
            raw = self.http_client.post(request.url, data=data, **kwargs)
        else:
            raise ConfigurationError(f"an MSAL-style http_client cannot send {method}")
        return _normalise(raw, method, request.url)

    def close(self) -> None:
        """Call ``http_client.close()`` once, if the client has one. Idempotent."""
        if self._closed:
            return
        self._closed = True
        closer = getattr(self.http_client, "close", None)
        if callable(closer):
            closer()


def _normalise(raw: Any, method: str, url: str) -> HttpResponse:
    status = getattr(raw, "status_code", None)
    if status is None:
        status = getattr(raw, "status", None)
    if isinstance(status, bool) or not isinstance(status, int):
        raise ProtocolError(
            f"{method} to {host_of(url)}: http_client response has no integer status_code"
        )
    text = getattr(raw, "text", None)
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise ProtocolError(f"{method} to {host_of(url)}: http_client response has no text")
    return HttpResponse(status, text, _headers(getattr(raw, "headers", None)))


def _headers(raw: Any) -> dict[str, str]:
    """Lower-case the names of any mapping-like headers; combine repeats with ``", "``."""
    if raw is None:
        return {}
    mapping_like = isinstance(raw, Mapping) or hasattr(raw, "items")
    items: Any = raw.items() if mapping_like else raw  # else a list of pairs
    headers: dict[str, str] = {}
    try:
        for name, value in items:
            key = (name.decode("latin-1") if isinstance(name, bytes) else str(name)).lower()
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
    except (TypeError, ValueError):
        return {}
    return headers
