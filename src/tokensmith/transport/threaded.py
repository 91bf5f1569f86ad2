"""Run a synchronous :class:`~tokensmith.transport.base.Transport` from async code.

Each call runs in a worker thread (:func:`asyncio.to_thread`), so a blocking client
(a ``requests.Session``, say) never stalls the event loop.
"""

from __future__ import annotations

import asyncio

from tokensmith.transport._closing import AsyncClosing
from tokensmith.transport.base import HttpRequest, HttpResponse, Transport

__all__ = ["ThreadedTransport"]


class ThreadedTransport(AsyncClosing):
    """An :class:`~tokensmith.transport.base.AsyncTransport` over a sync ``inner``.

    Exceptions of ``inner`` propagate unchanged. Cancelling a ``send`` stops the wait,
    not the thread: the request it started still runs to its end.

    Args:
        inner: the synchronous transport to run in worker threads.
    """

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"ThreadedTransport({self.inner!r})"

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Run ``inner.send(request)`` in a worker thread; return its response."""
        return await asyncio.to_thread(self.inner.send, request)

    async def aclose(self) -> None:
        """Run ``inner.close()`` in a worker thread (``inner`` makes it idempotent)."""
        await asyncio.to_thread(self.inner.close)
