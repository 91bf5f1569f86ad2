"""Small public helpers MSAL exports: ``Prompt``, ``AutoRefresher``, ``PopAuthScheme``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar
from urllib.parse import urlparse

from tokensmith.errors import ConfigurationError

__all__ = ["AutoRefresher", "PopAuthScheme", "Prompt"]

T = TypeVar("T")


class Prompt:
    """Values of the OpenID Connect ``prompt`` parameter."""

    NONE = "none"
    LOGIN = "login"
    CONSENT = "consent"
    SELECT_ACCOUNT = "select_account"
    CREATE = "create"


class AutoRefresher(Generic[T]):
    """Memoizes ``factory()`` for ``expires_in`` seconds (MSAL's helper of that name)."""

    def __init__(
        self,
        factory: Callable[[], T],
        expires_in: float = 540,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._factory = factory
        self._expires_in = expires_in
        self._clock = clock
        self._value: T | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            now = self._clock()
            if self._value is None or now >= self._expires_at:
                self._value = self._factory()
                self._expires_at = now + self._expires_in
            return self._value


class PopAuthScheme:
    """Parameters of a proof-of-possession (SHR) token request.

    Raises:
        ValueError: a parameter is missing or the method is not one of ``HTTP_*``.
    """

    HTTP_GET = "GET"
    HTTP_POST = "POST"
    HTTP_PUT = "PUT"
    HTTP_DELETE = "DELETE"
    HTTP_PATCH = "PATCH"
    _HTTP_METHODS = frozenset({HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH})

    def __init__(
        self, http_method: str | None = None, url: str | None = None, nonce: str | None = None
    ) -> None:
        if not (http_method and url and nonce):
            raise ConfigurationError("http_method, url and nonce are all required")
        if http_method not in self._HTTP_METHODS:
            raise ConfigurationError(f"http_method must be one of {sorted(self._HTTP_METHODS)}")
        self._http_method = http_method
        self._url = urlparse(url)
        self._nonce = nonce
        self._raw_url = url

    @property
    def http_method(self) -> str:
        """The method of the request the token will be presented with."""
        return self._http_method

    @property
    def url(self) -> str:
        """The URL of that request."""
        return self._raw_url

    @property
    def nonce(self) -> str:
        """The resource's nonce, signed into the request."""
        return self._nonce
