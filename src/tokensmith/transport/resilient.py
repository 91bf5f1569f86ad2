"""Transports that throttle, retry and log around another transport, sync and async.

Order of work for one ``send``::

    throttle.check ── hit ──> return the remembered response (no traffic)
         │ miss
         v
    inner.send ──> retry.delay_for ── delay ──> sleep, send again
                         │ None (final)
                         v
    throttle.record(final response) ──> return it   (or re-raise the last error)

The decisions live in the sans-I/O :class:`~tokensmith.transport.retry.RetryPolicy`
and :class:`~tokensmith.transport.throttle.Throttle`; the loop that asks them, and its
logging, is the one generator :func:`_attempts`. :class:`ResilientTransport` and
:class:`AsyncResilientTransport` only drive it: send what it yields, sleep what it
yields, hand back the outcome.

When the call has a deadline (:mod:`tokensmith.transport.deadline`), no attempt starts
past it and no retry waits past it: the last outcome is final. The async driver also
cancels an inner send at the deadline; a sync send is bounded by the inner transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator

from tokensmith._redact import logger as _package_logger
from tokensmith.transport import deadline as _deadline
from tokensmith.transport._closing import AsyncClosing, Closing
from tokensmith.transport._describe import describe_url, host_of
from tokensmith.transport.base import AsyncTransport, HttpRequest, HttpResponse, Transport
from tokensmith.transport.retry import RetryPolicy
from tokensmith.transport.throttle import Throttle

__all__ = ["AsyncResilientTransport", "ResilientTransport"]

logger = _package_logger.getChild("transport")

Attempts = Generator[HttpRequest | float, HttpResponse | None, HttpResponse]
"""What :func:`_attempts` is: yields steps, is sent outcomes, returns the response."""

Reply = HttpResponse | Exception | None
"""What a driver hands back for a step: the response or error of a send, ``None``
after a sleep (and to start)."""


def _attempts(
    request: HttpRequest,
    retry: RetryPolicy | None,
    throttle: Throttle | None,
    timer: Callable[[], float],
    deadline: _deadline.Deadline | None = None,
) -> Attempts:
    """The whole decision loop of one resilient send, with no I/O.

    Yields:
        ``request`` (an :class:`HttpRequest`): send it; resume with ``send(response)``,
        or with ``throw(error)`` if sending raised. A ``float``: sleep that many seconds,
        then resume with ``send(None)``.

    Returns:
        The final response (the throttle's remembered one, or the last one received).

    Raises:
        Exception: the error thrown in for the last attempt, once the policy gives up
            (errors other than ``TransportError`` are never retried), or the deadline
            leaves no time for another.
        TransportTimeout: ``deadline`` had passed before the first attempt.
    """
    where = _Where(request)  # rendered only if a debug line is actually emitted
    if not request.retry_on_status:  # its first answer is final: never replayed either
        throttle = None
    if throttle is not None:
        remembered = throttle.check(request)
        if remembered is not None:
            logger.debug("%s -> %s from throttle (no traffic)", where, remembered.status_code)
            return remembered
    if deadline is not None and deadline.remaining() <= 0:
        raise deadline.exceeded(_what(request))
    attempt = 0
    while True:
        attempt += 1
        started = timer()
        response: HttpResponse | None
        error: Exception | None = None
        try:
            response = yield request
        except Exception as exc:
            response, error = None, exc
        outcome = type(error).__name__ if response is None else response.status_code
        elapsed = timer() - started
        delay = None if retry is None else retry.delay_for(attempt, response, error)
        if response is not None and not request.retry_on_status:
            delay = None
        late = delay is not None and deadline is not None and delay >= deadline.remaining()
        logger.debug(
            "%s attempt %d -> %s after %.3fs%s",
            where,
            attempt,
            outcome,
            elapsed,
            "; no retry: the call's deadline is too near" if late else _next(delay),
        )
        if late:
            delay = None
        if delay is None:
            if response is None:
                raise error or RuntimeError("a driver resumed a send step without a response")
            if throttle is not None:
                throttle.record(request, response)
            return response
        yield delay


def _advance(steps: Attempts, reply: Reply) -> HttpRequest | float | HttpResponse:
    """Resume ``steps`` with ``reply``; return its next step, or its final response."""
    try:
        return steps.throw(reply) if isinstance(reply, Exception) else steps.send(reply)
    except StopIteration as done:
        final: HttpResponse = done.value
        return final


class ResilientTransport(Closing):
    """Wrap ``inner`` with client-side throttling and retries.

    Args:
        inner: the transport that does the I/O.
        retry: when to try again; ``None`` sends each request once.
        throttle: MSAL-style throttling of repeated POSTs; ``None`` disables it.
        sleep: called with the seconds to wait between attempts (inject a fake in tests).
        timer: monotonic seconds, only used to log how long each attempt took.
    """

    def __init__(
        self,
        inner: Transport,
        *,
        retry: RetryPolicy | None,
        throttle: Throttle | None,
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.retry = retry
        self.throttle = throttle
        self._sleep = sleep
        self._timer = timer

    def __repr__(self) -> str:
        return _repr(self)

    def close(self) -> None:
        """Close the inner transport (which is itself idempotent)."""
        self.inner.close()

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` with throttling and retries; return the final response.

        Raises:
            Exception: the last error of the inner transport once the policy gives up
                (non-``TransportError`` exceptions are never retried).
        """
        steps = _attempts(request, self.retry, self.throttle, self._timer, _deadline.current())
        reply: Reply = None
        while not isinstance(step := _advance(steps, reply), HttpResponse):
            if isinstance(step, HttpRequest):
                try:
                    reply = self.inner.send(step)
                except Exception as exc:
                    reply = exc
            else:
                self._sleep(step)
                reply = None
        return step


class AsyncResilientTransport(AsyncClosing):
    """The async twin of :class:`ResilientTransport`: the same decisions and logs.

    Args:
        inner: the async transport that does the I/O.
        retry: when to try again; ``None`` sends each request once.
        throttle: MSAL-style throttling of repeated POSTs; ``None`` disables it.
        sleep: awaited with the seconds to wait between attempts.
        timer: monotonic seconds, only used to log how long each attempt took.
    """

    def __init__(
        self,
        inner: AsyncTransport,
        *,
        retry: RetryPolicy | None,
        throttle: Throttle | None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.retry = retry
        self.throttle = throttle
        self._sleep = sleep
        self._timer = timer

    def __repr__(self) -> str:
        return _repr(self)

    async def aclose(self) -> None:
        """Close the inner transport (which is itself idempotent)."""
        await self.inner.aclose()

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` with throttling and retries; return the final response.

        Raises:
            Exception: the last error of the inner transport once the policy gives up
                (non-``TransportError`` exceptions are never retried).
        """
        steps = _attempts(request, self.retry, self.throttle, self._timer, _deadline.current())
        reply: Reply = None
        while not isinstance(step := _advance(steps, reply), HttpResponse):
            if isinstance(step, HttpRequest):
                try:
                    reply = await _deadline.bounded(self.inner.send(step), _what(step))
                except Exception as exc:
                    reply = exc
            else:
                await self._sleep(step)
                reply = None
        return step


def _repr(transport: ResilientTransport | AsyncResilientTransport) -> str:
    name, inner = type(transport).__name__, transport.inner
    return f"{name}({inner!r}, retry={transport.retry!r}, throttle={transport.throttle!r})"


def _what(request: HttpRequest) -> str:
    return f"{request.method} to {host_of(request.url)}"


def _next(delay: float | None) -> str:
    return "" if delay is None else f"; retrying in {delay:.3f}s"


class _Where:
    """``METHOD scheme://host/path?names``, formatted lazily by the logging call."""

    __slots__ = ("_request",)

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __str__(self) -> str:
        request = self._request
        return f"{request.method} {describe_url(request.url, request.params)}"
