"""``app.http_client`` when the application was given none: a live object with MSAL's
``get``/``post``, sending through the application's own transport stack (retries,
throttling, deadline), as MSAL's ``app.http_client`` sends through its session.

Each call is a one-request flow handed to the application's runner, so the sync
application answers synchronously and the async one (:mod:`tokensmith.aio`) returns
awaitables: an async MSAL-style client, which the async applications accept too.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = ["AppHttpClient", "AsyncAppHttpClient", "ClientResponse"]

Runner = Callable[[Flow[HttpResponse]], Any]


class ClientResponse:
    """What MSAL-style code reads of a response: ``status_code``, ``text``,
    ``headers``, ``json()`` and ``raise_for_status()``."""

    __slots__ = ("headers", "status_code", "text")

    def __init__(self, response: HttpResponse) -> None:
        self.status_code = response.status_code
        self.text = response.text
        self.headers = dict(response.headers)

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ValueError: the body is not JSON.
        """
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        """Raise for a 4xx or 5xx status, as ``requests`` does.

        Raises:
            RuntimeError: the status is 400 or more (the body is not quoted).
        """
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")

    def __repr__(self) -> str:
        return f"ClientResponse({self.status_code})"


class _Base:
    __slots__ = ("_run",)

    def __init__(self, run: Callable[[], Runner | None]) -> None:
        self._run = run

    def _runner(self) -> Runner:
        run = self._run()
        if run is None:
            raise ConfigurationError("the application of this http_client is gone")
        return run

    def close(self) -> None:
        """Nothing to do: the application owns the connections (``app.close()``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AppHttpClient(_Base):
    """The sync application's ``http_client``."""

    __slots__ = ()

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> ClientResponse:
        """Send a GET through the application's transport stack.

        Raises:
            TransportError: no answer (after the stack's retries).
        """
        return ClientResponse(self._runner()(_one(_request("GET", url, params, None, headers))))

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> ClientResponse:
        """Send a form POST through the application's transport stack.

        Raises:
            ValueError: ``data`` is not a mapping of form fields.
            TransportError: no answer (after the stack's retries).
        """
        return ClientResponse(self._runner()(_one(_request("POST", url, params, data, headers))))


class AsyncAppHttpClient(_Base):
    """The async application's ``http_client`` (coroutine ``get``/``post``)."""

    __slots__ = ()

    async def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> ClientResponse:
        """Send a GET through the application's async transport stack."""
        flow = _one(_request("GET", url, params, None, headers))
        return ClientResponse(await self._runner()(flow))

    async def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> ClientResponse:
        """Send a form POST through the application's async transport stack.

        Raises:
            ValueError: ``data`` is not a mapping of form fields.
        """
        flow = _one(_request("POST", url, params, data, headers))
        return ClientResponse(await self._runner()(flow))


def weak_runner(run: Runner) -> Callable[[], Runner | None]:
    """A weak reference to an application's bound ``_run`` (no reference cycle)."""
    return weakref.WeakMethod(run)


def _request(method: str, url: Any, params: Any, data: Any, headers: Any) -> HttpRequest:
    if not isinstance(url, str) or not url:
        raise ConfigurationError("http_client needs a URL string")
    for name, value in (("params", params), ("data", data), ("headers", headers)):
        if value is not None and not isinstance(value, Mapping):
            raise ConfigurationError(f"http_client.{method.lower()}(): {name} must be a mapping")
    return HttpRequest(
        method,
        url,
        params={str(k): str(v) for k, v in params.items()} if params else None,
        data={str(k): str(v) for k, v in data.items()} if data is not None else None,
        headers={str(k): str(v) for k, v in (headers or {}).items()},
    )


def _one(request: HttpRequest) -> Flow[HttpResponse]:
    response: HttpResponse = yield request
    return response
