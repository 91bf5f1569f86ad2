"""The default transport: a synchronous ``httpx.Client``.

httpx is imported inside the constructor so ``import tokensmith`` stays cheap. httpx's
exceptions are mapped at this boundary (STYLE.md habit 4)::

    httpx.TimeoutException                 -> TransportTimeout
    httpx.UnsupportedProtocol, InvalidURL  -> ConfigurationError  (retrying cannot help)
    httpx.DecodingError                    -> ProtocolError       (undecodable body)
    any other httpx.TransportError/HTTPError -> TransportError

Messages name the method and host, never the query values or the body.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from tokensmith.errors import ConfigurationError, ProtocolError, TransportError, TransportTimeout
from tokensmith.transport._describe import host_of, scrub
from tokensmith.transport.base import HttpRequest, HttpResponse

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_TIMEOUT", "HttpxTransport", "ProxySetting", "TimeoutSetting"]

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 30.0)
"""``(connect, read)`` seconds: a token request never waits forever by default."""

TimeoutSetting = float | tuple[float, float] | None
ProxySetting = str | Mapping[str, str] | None

_PROXY_KEY_TO_MOUNT = {"http": "http://", "https": "https://", "all": "all://"}


class HttpxTransport:
    """Send requests with ``httpx``.

    Args:
        verify: ``True`` (system/certifi CAs), ``False`` (no TLS verification; tests
            only), the path of a CA bundle file or directory, or an ``SSLContext``.
        proxies: one proxy URL for every request, or a requests-style mapping such as
            ``{"https": "http://proxy:3128"}``; keys ``http``, ``https``, ``all``,
            ``scheme://host`` patterns, and ``no_proxy`` (comma-separated hosts).
        timeout: seconds for every phase, ``(connect, read)``, or ``None`` for none.
        client: an ``httpx.Client`` to use as-is; then ``verify``, ``proxies`` and
            ``timeout`` must be left at their defaults, and :meth:`close` leaves the
            client open (whoever made it closes it).

    Raises:
        ConfigurationError: for a bad argument (unknown type, missing CA file, a
            ``client`` combined with other settings).
    """

    def __init__(
        self,
        *,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        proxies: ProxySetting = None,
        timeout: TimeoutSetting = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        import httpx

        self._httpx = httpx
        self._closed = False
        if client is not None:
            if not isinstance(client, httpx.Client):
                raise ConfigurationError("client must be an httpx.Client")
            if verify is not True or proxies is not None or timeout != DEFAULT_TIMEOUT:
                raise ConfigurationError(
                    "pass either client or verify/proxies/timeout, not both: "
                    "configure the httpx.Client you hand in instead"
                )
            self._client = client
            self._owns_client = False
            return
        ssl_setting = _ssl_setting(verify)
        self._client = httpx.Client(
            verify=ssl_setting,
            timeout=_timeout(timeout),
            mounts=_mounts(proxies, ssl_setting),
        )
        self._owns_client = True

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"HttpxTransport({state})"

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (if this transport created it). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            self._client.close()

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request``; return its response whatever the status.

        Raises:
            TransportTimeout: no answer within the timeout.
            TransportError: connection refused or reset, TLS failure, proxy failure.
            ConfigurationError: the transport is closed, or the URL cannot be sent.
            ProtocolError: the response body could not be decoded.
        """
        if self._closed:
            raise ConfigurationError("HttpxTransport is closed")
        httpx = self._httpx
        where = f"{request.method} to {host_of(request.url)}"
        _check_headers(request.headers, where)
        try:
            url = httpx.URL(request.url)
            if request.params:  # merge with any query already in the URL, as requests does
                url = url.copy_merge_params(dict(request.params))
            raw = self._client.request(
                request.method,
                url,
                data=dict(request.data) if request.data is not None else None,
                headers=dict(request.headers),
            )
            text = raw.text
        except httpx.TimeoutException as exc:
            raise TransportTimeout(f"{where} timed out ({type(exc).__name__})") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            reason = scrub(str(exc), request.params, request.data)
            raise ConfigurationError(f"{where}: URL cannot be sent: {reason}") from None
        except httpx.DecodingError as exc:
            raise ProtocolError(f"{where}: undecodable response ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            reason = scrub(str(exc), request.params, request.data) or type(exc).__name__
            raise TransportError(f"{where} failed: {type(exc).__name__}: {reason}") from None
        headers = {name.lower(): value for name, value in raw.headers.items()}
        return HttpResponse(raw.status_code, text, headers)


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

    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, tuple) and len(timeout) == 2:
        connect, read = (_seconds(part) for part in timeout)
        return httpx.Timeout(read, connect=connect)
    if not isinstance(timeout, tuple):
        return httpx.Timeout(_seconds(timeout))
    raise ConfigurationError("timeout must be seconds, (connect, read) or None")


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError("timeout must be seconds, (connect, read) or None")
    return float(value)


def _mounts(
    proxies: object, ssl_setting: bool | ssl.SSLContext
) -> dict[str, httpx.HTTPTransport | None] | None:
    """Map requests-style ``proxies`` onto httpx mounts."""
    import httpx

    if proxies is None:
        return None
    if isinstance(proxies, str):
        proxies = {"all": proxies}
    if not isinstance(proxies, Mapping):
        raise ConfigurationError("proxies must be a proxy URL or a mapping like requests'")
    mounts: dict[str, httpx.HTTPTransport | None] = {}
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
        mounts[pattern] = httpx.HTTPTransport(proxy=proxy, verify=ssl_setting)
    return mounts
