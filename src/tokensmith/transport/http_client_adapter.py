"""Adapt an MSAL-style ``http_client`` object to the transport interfaces.

MSAL Python accepts any object with (reference: msal-python.md §4.1)::

    post(url, params=None, data=None, headers=None, **kwargs) -> response
    get(url, params=None, headers=None, **kwargs) -> response

whose response has ``status_code`` (or ``status``), ``text`` and, optionally,
``headers`` (any mapping). A ``requests.Session`` is such an object.
:class:`AsyncHttpClientTransport` takes the same object with ``get``/``post`` as
coroutine functions; :func:`async_transport_for` picks it, or runs a synchronous
client in worker threads (:class:`~tokensmith.transport.threaded.ThreadedTransport`).

Exceptions raised by the user's client propagate **unchanged**: application code
written for MSAL catches, for example, ``requests.exceptions.RequestException``.

A request of an acquire call given transport keywords (:attr:`HttpRequest.per_call`)
passes them to the client's ``post`` verbatim (its ``timeout=`` instead of the
adapter's), as MSAL passes an acquire call's extra keywords.

Under a call's deadline (:mod:`tokensmith.transport.deadline`) an adapter that passes
``timeout=`` passes the smaller of its own and the time left; a sync client cannot be
interrupted beyond that (a ``requests`` timeout is per read, as MSAL's is). An async
client's send is cancelled at the deadline by the async resilient transport.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.transport import deadline as _deadline
from tokensmith.transport._closing import AsyncClosing, Closing
from tokensmith.transport._describe import host_of
from tokensmith.transport.base import AsyncTransport, HttpRequest, HttpResponse
from tokensmith.transport.threaded import ThreadedTransport

__all__ = ["AsyncHttpClientTransport", "HttpClientTransport", "async_transport_for"]


class _Adapter:
    """The constructor both adapters share.

    Args:
        http_client: an object with ``get`` and ``post`` as MSAL Python expects.
        timeout: when given, passed to every call as ``timeout=`` (``requests``
            understands it), capped at the time the call's deadline leaves; when
            ``None`` nothing extra is passed.

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
        return f"{type(self).__name__}({type(self.http_client).__name__})"

    def _call(self, request: HttpRequest) -> tuple[str, Callable[..., Any], dict[str, Any]]:
        """Return the method, the client's ``get`` or ``post``, and its keyword arguments.

        Raises:
            ConfigurationError: for a method other than GET or POST.
        """
        method = request.method.upper()
        kwargs: dict[str, Any] = {
            "params": dict(request.params) if request.params else None,
            "headers": dict(request.headers),
        }
        if self._timeout is not None:
            kwargs["timeout"] = _deadline.capped(self._timeout)
        if request.per_call is not None:  # the call's own keywords, as MSAL passes them
            kwargs.update(request.per_call.extra)
            if request.per_call.timeout is not None:
                kwargs["timeout"] = _capped(request.per_call.timeout)
        if method == "GET":
            return method, self.http_client.get, kwargs
        if method == "POST":
            if request.content is not None:  # a raw body: MSAL passes it as data=, a str
                kwargs["data"] = request.content
            else:
                kwargs["data"] = dict(request.data) if request.data is not None else None
            return method, self.http_client.post, kwargs
        raise ConfigurationError(f"an MSAL-style http_client cannot send {method}")

    def _closer(self, *names: str) -> Callable[[], Any] | None:
        """The client's first callable among ``names``, the first time; then ``None``."""
        if self._closed:
            return None
        self._closed = True
        closers = (getattr(self.http_client, name, None) for name in names)
        return next((closer for closer in closers if callable(closer)), None)


class HttpClientTransport(_Adapter, Closing):
    """A :class:`~tokensmith.transport.base.Transport` over an MSAL-style client.

    Args:
        http_client: an object with ``get`` and ``post`` as MSAL Python expects.
        timeout: when given, passed to every call as ``timeout=`` (``requests``
            understands it), capped at the time the call's deadline leaves; when
            ``None`` nothing extra is passed.

    Raises:
        ConfigurationError: if ``http_client`` lacks a callable ``get`` or ``post``.
    """

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` through the wrapped client and normalise its response.

        Raises:
            ConfigurationError: for a method other than GET or POST.
            ProtocolError: the client returned something without a status or text.
            Exception: whatever the wrapped client raises, unchanged.
        """
        method, call, kwargs = self._call(request)
        return _normalise(call(request.url, **kwargs), method, request.url)

    def close(self) -> None:
        """Call ``http_client.close()`` once, if the client has one. Idempotent."""
        closer = self._closer("close")
        if closer is not None:
            closer()


class AsyncHttpClientTransport(_Adapter, AsyncClosing):
    """An :class:`~tokensmith.transport.base.AsyncTransport` over an async MSAL-style
    client, whose ``get`` and ``post`` return awaitables.

    Args:
        http_client: an object with async ``get`` and ``post``, MSAL's arguments.
        timeout: when given, passed to every call as ``timeout=``.

    Raises:
        ConfigurationError: if ``http_client`` lacks a callable ``get`` or ``post``.
    """

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` through the wrapped client and normalise its response.

        Raises:
            ConfigurationError: for a method other than GET or POST, or a ``get`` /
                ``post`` that returned no awaitable (use :func:`async_transport_for`).
            ProtocolError: the client returned something without a status or text.
            Exception: whatever the wrapped client raises, unchanged.
        """
        method, call, kwargs = self._call(request)
        pending = call(request.url, **kwargs)
        if not inspect.isawaitable(pending):
            raise ConfigurationError(
                f"http_client.{method.lower()}() returned no awaitable: "
                "use async_transport_for() for a synchronous client"
            )
        return _normalise(await pending, method, request.url)

    async def aclose(self) -> None:
        """Call the client's ``aclose()`` (else ``close()``) once, awaiting it if it
        returns an awaitable. Idempotent."""
        closer = self._closer("aclose", "close")
        if closer is not None:
            result = closer()
            if inspect.isawaitable(result):
                await result


def async_transport_for(http_client: Any, *, timeout: float | None = None) -> AsyncTransport:
    """Return an async transport over an MSAL-style ``http_client``, sync or async.

    Args:
        http_client: an object with ``get`` and ``post``. Both coroutine functions
            (also bound methods, or objects with an ``async def __call__``): an
            :class:`AsyncHttpClientTransport`. Both plain callables: a
            :class:`~tokensmith.transport.threaded.ThreadedTransport` over an
            :class:`HttpClientTransport`, so each call runs in a worker thread.
        timeout: passed on to the adapter.

    Raises:
        ConfigurationError: ``get`` or ``post`` missing, or one async and one not.
    """
    kinds = {_is_async(getattr(http_client, name, None)) for name in ("get", "post")}
    if kinds == {True}:
        return AsyncHttpClientTransport(http_client, timeout=timeout)
    if kinds == {False}:
        return ThreadedTransport(HttpClientTransport(http_client, timeout=timeout))
    raise ConfigurationError("http_client has one async and one synchronous get()/post()")


def _is_async(function: object) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - async __call__
    )


def _capped(timeout: float | tuple[float, float]) -> float | tuple[float, float]:
    if isinstance(timeout, tuple):
        return (_deadline.capped(timeout[0]), _deadline.capped(timeout[1]))
    return _deadline.capped(timeout)


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
