"""azure-core's async transport answered by the in-process endpoint.

azure-identity's async credentials send their token requests through an azure-core
pipeline; :class:`FakeAsyncTransport` is the pipeline's last stage. It hands the form of
each request to a :class:`bench.fakehttp.AsyncFakeHttpClient`, so azure-identity gets
the same answers, latency and request counting as tokensmith and MSAL, and no socket
is opened (:mod:`bench.netguard` stays active).

Importing this module imports azure-core; the bench imports it only when it measures
azure-identity.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from azure.core.pipeline.transport import AsyncHttpResponse, AsyncHttpTransport
from azure.core.rest import HttpRequest

from bench.fakehttp import AsyncFakeHttpClient, FakeResponse

__all__ = ["FakeAsyncResponse", "FakeAsyncTransport"]


class FakeAsyncResponse(AsyncHttpResponse):
    """A fully read response: status, headers and body of a :class:`FakeResponse`."""

    def __init__(self, request: Any, answer: FakeResponse) -> None:
        super().__init__(request, None)  # ``request``: the pipeline's (rest) HttpRequest
        self.status_code = answer.status_code
        self.headers = dict(answer.headers)
        self.reason = "OK" if answer.status_code < 400 else "Error"
        self.content_type = self.headers.get("content-type")
        self._body = answer.text.encode("utf-8")

    def body(self) -> bytes:
        """The whole body (it is already in memory)."""
        return self._body


class FakeAsyncTransport(AsyncHttpTransport[HttpRequest, FakeAsyncResponse]):
    """``AsyncHttpTransport`` whose ``send`` is answered by ``endpoint``.

    Args:
        endpoint: the in-process identity provider (its counts show whether the
            credential served a token from its cache).
    """

    def __init__(self, endpoint: AsyncFakeHttpClient) -> None:
        self.endpoint = endpoint

    async def send(self, request: HttpRequest, **kwargs: Any) -> FakeAsyncResponse:
        """Answer a GET or a form POST as the fake endpoint does."""
        if request.method == "GET":
            return FakeAsyncResponse(request, await self.endpoint.get(request.url))
        return FakeAsyncResponse(
            request, await self.endpoint.post(request.url, data=_form(request))
        )

    async def open(self) -> None:
        """No session to open."""

    async def close(self) -> None:
        """No session to close."""

    async def __aenter__(self) -> FakeAsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def _form(request: HttpRequest) -> dict[str, Any]:
    """The urlencoded form of a request (azure-core keeps ``data=`` as a dict)."""
    content = request.content
    if isinstance(content, dict):
        return dict(content)
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    return dict(parse_qsl(content or ""))
