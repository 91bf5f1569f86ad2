"""What the sync and async httpx transports share: settings, requests, errors.

httpx's exceptions are mapped here, once, for both (STYLE.md habit 4)::

    httpx.TimeoutException                 -> TransportTimeout
    httpx.UnsupportedProtocol, InvalidURL  -> ConfigurationError  (retrying cannot help)
    httpx.DecodingError                    -> ProtocolError       (undecodable body)
    any other httpx.TransportError/HTTPError -> TransportError

Messages name the method and host, never the query values or the body. httpx is
imported inside each function, so importing this module does not import it.

Under a call's deadline (:mod:`tokensmith.transport.deadline`) each phase's timeout is
capped at the time left, and the body is streamed and the clock checked after every
chunk: a server dripping bytes fails the call at most one read past the deadline.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tokensmith.errors import ConfigurationError, ProtocolError, TransportError, TransportTimeout
from tokensmith.protocol.http import check_timeout
from tokensmith.transport import deadline as _deadline
from tokensmith.transport._describe import host_of, scrub
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.hints import explain

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "HttpxBase",
    "ProxySetting",
    "TimeoutSetting",
    "VerifySetting",
    "exchange",
    "read_response",
    "read_response_async",
]

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 30.0)
"""``(connect, read)`` seconds: a token request never waits forever by default."""

TimeoutSetting = float | tuple[float, float] | None
ProxySetting = str | Mapping[str, str] | None
VerifySetting = bool | str | os.PathLike[str] | ssl.SSLContext

C = TypeVar("C", "httpx.Client", "httpx.AsyncClient")
M = TypeVar("M", "httpx.HTTPTransport", "httpx.AsyncHTTPTransport")

_PROXY_KEY_TO_MOUNT = {"http": "http://", "https": "https://", "all": "all://"}


class HttpxBase(Generic[C]):
    """The state both httpx transports keep: their client, whether they own it, closed.

    Subclasses call :meth:`_open` from their constructor, :meth:`_check_open` before a
    send and :meth:`_release` to close.
    """

    _client: C
    _owns_client: bool
    _closed: bool

    def _open(
        self,
        client_type: type[C],
        mount_type: type[M],
        *,
        verify: object,
        proxies: object,
        timeout: object,
        client: object,
    ) -> None:
        """Adopt ``client`` as handed in, or make a new one from the settings.

        Args:
            client_type: ``httpx.Client`` or ``httpx.AsyncClient``.
            mount_type: the matching ``httpx.HTTPTransport`` / ``AsyncHTTPTransport``,
                used for proxy mounts.
            verify: see :class:`~tokensmith.transport.httpx_transport.HttpxTransport`.
            proxies: likewise.
            timeout: likewise.
            client: an instance of ``client_type`` to use as-is, or ``None``.

        Raises:
            ConfigurationError: for a bad argument, or a ``client`` with other settings.
        """
        self._closed = False
        if client is not None:
            if not isinstance(client, client_type):
                raise ConfigurationError(f"client must be an httpx.{client_type.__name__}")
            if verify is not True or proxies is not None or timeout != DEFAULT_TIMEOUT:
                raise ConfigurationError(
                    "pass either client or verify/proxies/timeout, not both: "
                    f"configure the httpx.{client_type.__name__} you hand in instead"
                )
            self._client, self._owns_client = client, False
            return
        ssl_setting = _ssl_setting(verify)
        # Any: mypy cannot tie each client type to its own mount type.
        mounts: Any = _mounts(proxies, ssl_setting, mount_type)
        self._client = client_type(verify=ssl_setting, timeout=_timeout(timeout), mounts=mounts)
        self._owns_client = True

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"{type(self).__name__}({state})"

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError(f"{type(self).__name__} is closed")

    def _release(self) -> C | None:
        """Mark closed; return the client to close (the first time, if owned)."""
        if self._closed:
            return None
        self._closed = True
        return self._client if self._owns_client else None


@contextmanager
def exchange(
    client: httpx.Client | httpx.AsyncClient, request: HttpRequest
) -> Iterator[httpx.Request]:
    """Build the httpx request for ``client``; map httpx's errors raised in the block.

    Raises:
        ConfigurationError: a header httpx would fail on; a URL that cannot be sent.
        TransportTimeout: no answer within the timeout, or past the call's deadline.
        TransportError: connection refused or reset, TLS failure, proxy failure.
        ProtocolError: the response body could not be decoded.
    """
    import httpx

    where = f"{request.method} to {host_of(request.url)}"
    _check_headers(request.headers, where)
    deadline = _deadline.current()
    _check(deadline, request)
    try:
        yield _build(client, request, deadline)
    except httpx.TimeoutException as exc:
        if deadline is not None and deadline.remaining() <= 0:
            raise deadline.exceeded(where) from None
        raise TransportTimeout(f"{where} timed out ({type(exc).__name__})") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        reason = scrub(str(exc), request.params, request.data)
        raise ConfigurationError(f"{where}: URL cannot be sent: {reason}") from None
    except httpx.DecodingError as exc:
        raise ProtocolError(f"{where}: undecodable response ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        reason = scrub(str(exc), request.params, request.data) or type(exc).__name__
        explained = explain(request, type(exc).__name__, reason)
        error = TransportError(explained.message)
        error.retryable = explained.retryable
        raise error from None


def read_response(raw: httpx.Response, request: HttpRequest) -> HttpResponse:
    """Read a streamed response's body chunk by chunk, within the call's deadline (inside
    :func:`exchange`: decoding may fail).

    Raises:
        TransportTimeout: the deadline passed before or while the body arrived.
    """
    deadline = _deadline.current()
    _check(deadline, request)  # the headers may have come in late
    parts: list[str] = []
    for part in raw.iter_text():
        parts.append(part)
        _check(deadline, request)
    return _response(raw, "".join(parts))


async def read_response_async(raw: httpx.Response, request: HttpRequest) -> HttpResponse:
    """The async twin of :func:`read_response`."""
    deadline = _deadline.current()
    _check(deadline, request)
    parts: list[str] = []
    async for part in raw.aiter_text():
        parts.append(part)
        _check(deadline, request)
    return _response(raw, "".join(parts))


def _check(deadline: _deadline.Deadline | None, request: HttpRequest) -> None:
    if deadline is not None and deadline.remaining() <= 0:
        raise deadline.exceeded(f"{request.method} to {host_of(request.url)}")


def _response(raw: httpx.Response, text: str) -> HttpResponse:
    headers = {name.lower(): value for name, value in raw.headers.items()}
    return HttpResponse(raw.status_code, text, headers)


def _build(
    client: httpx.Client | httpx.AsyncClient,
    request: HttpRequest,
    deadline: _deadline.Deadline | None,
) -> httpx.Request:
    import httpx

    timeout = client.timeout
    if request.per_call is not None and request.per_call.timeout is not None:
        timeout = _timeout(request.per_call.timeout)  # the call's timeout= (MSAL's per call)
    url = httpx.URL(request.url)
    if request.params:  # merge with any query already in the URL, as requests does
        url = url.copy_merge_params(dict(request.params))
    return client.build_request(
        request.method,
        url,
        data=dict(request.data) if request.data is not None else None,
        content=request.content.encode("utf-8") if request.content is not None else None,
        headers=dict(request.headers),
        timeout=timeout if deadline is None else _capped(timeout),
    )


def _capped(timeout: httpx.Timeout) -> httpx.Timeout:
    """``timeout`` with no phase longer than the time the call's deadline leaves."""
    import httpx

    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    connect, read, write, pool = (_deadline.capped(phase) for phase in phases)
    return httpx.Timeout(connect=connect, read=read, write=write, pool=pool)


def _check_headers(headers: Mapping[str, str], where: str) -> None:
    """Reject header names/values httpx would fail on, naming the header, not its value."""
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError(f"{where}: header names and values must be str")
        if not name.isascii() or not name.isprintable() or not name or " " in name:
            raise ConfigurationError(f"{where}: invalid header name {name!r}")
        if "\r" in value or "\n" in value or "\x00" in value or not value.isascii():
            raise ConfigurationError(
                f"{where}: header {name!r} has a non-ASCII or control character"
            )


def _ssl_setting(verify: object) -> bool | ssl.SSLContext:
    """Turn ``verify`` into what httpx accepts without deprecation warnings."""
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        if os.path.isfile(path):
            try:
                return ssl.create_default_context(cafile=path)
            except ssl.SSLError as exc:
                raise ConfigurationError(f"verify: not a CA bundle: {path}: {exc}") from None
        raise ConfigurationError(f"verify: no such CA bundle file or directory: {path}")
    raise ConfigurationError("verify must be True, False or the path of a CA bundle")


def _timeout(timeout: object) -> httpx.Timeout:
    import httpx

    checked = check_timeout(timeout)
    if isinstance(checked, tuple):
        connect, read = checked
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(checked)


def _mounts(
    proxies: object, ssl_setting: bool | ssl.SSLContext, mount_type: type[M]
) -> dict[str, M | None] | None:
    """Map requests-style ``proxies`` onto httpx mounts of ``mount_type``."""
    import httpx

    if proxies is None:
        return None
    if isinstance(proxies, str):
        proxies = {"all": proxies}
    if not isinstance(proxies, Mapping):
        raise ConfigurationError("proxies must be a proxy URL or a mapping like requests'")
    mounts: dict[str, M | None] = {}
    for key, url in proxies.items():
        if not isinstance(key, str) or not isinstance(url, str):
            raise ConfigurationError("proxies keys and values must be strings")
        if key.lower() == "no_proxy":
            for host in filter(None, (h.strip() for h in url.split(","))):
                mounts["all://" + (f"*{host}" if host.startswith(".") else host)] = None
            continue
        pattern: str | None = _PROXY_KEY_TO_MOUNT.get(key.lower())
        if pattern is None and "://" in key:
            pattern = key
        if pattern is None:
            raise ConfigurationError(f"proxies: unknown key {key!r} (use http, https, all)")
        try:
            proxy = httpx.Proxy(url)
        except (ValueError, TypeError, httpx.InvalidURL):
            raise ConfigurationError(f"proxies: bad proxy URL for {key!r}") from None
        mounts[pattern] = mount_type(proxy=proxy, verify=ssl_setting)
    return mounts
