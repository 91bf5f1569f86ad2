"""A transport that throttles, retries and logs around another transport.

Order of work for one :meth:`ResilientTransport.send`::

    throttle.check ── hit ──> return the remembered response (no traffic)
         │ miss
         v
    inner.send ──> retry.delay_for ── delay ──> sleep, send again
                         │ None (final)
                         v
    throttle.record(final response) ──> return it   (or re-raise the last error)

The decisions live in the sans-I/O :class:`~tokensmith.transport.retry.RetryPolicy`
and :class:`~tokensmith.transport.throttle.Throttle`; this class only sleeps, sends
and logs, so an async twin can reuse both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from tokensmith._redact import logger as _package_logger
from tokensmith.transport._describe import describe_url
from tokensmith.transport.base import HttpRequest, HttpResponse, Transport
from tokensmith.transport.retry import RetryPolicy
from tokensmith.transport.throttle import Throttle

__all__ = ["ResilientTransport"]

logger = _package_logger.getChild("transport")


class ResilientTransport:
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
        return (
            f"ResilientTransport({self.inner!r}, retry={self.retry!r}, throttle={self.throttle!r})"
        )

    def __enter__(self) -> ResilientTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the inner transport (which is itself idempotent)."""
        self.inner.close()

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` with throttling and retries; return the final response.

        Raises:
            Exception: the last error of the inner transport once the policy gives up
                (non-``TransportError`` exceptions are never retried).
        """
        where = _Where(request)  # rendered only if a debug line is actually emitted
        if self.throttle is not None:
            remembered = self.throttle.check(request)
            if remembered is not None:
                logger.debug("%s -> %s from throttle (no traffic)", where, remembered.status_code)
                return remembered
        attempt = 0
        while True:
            attempt += 1
            started = self._timer()
            try:
                response = self.inner.send(request)
            except Exception as exc:
                elapsed = self._timer() - started
                delay = self._delay(attempt, None, exc)
                logger.debug(
                    "%s attempt %d -> %s after %.3fs%s",
                    where,
                    attempt,
                    type(exc).__name__,
                    elapsed,
                    _next(delay),
                )
                if delay is None:
                    raise
                self._sleep(delay)
                continue
            elapsed = self._timer() - started
            delay = self._delay(attempt, response, None)
            logger.debug(
                "%s attempt %d -> %d after %.3fs%s",
                where,
                attempt,
                response.status_code,
                elapsed,
                _next(delay),
            )
            if delay is None:
                if self.throttle is not None:
                    self.throttle.record(request, response)
                return response
            self._sleep(delay)

    def _delay(
        self, attempt: int, response: HttpResponse | None, error: BaseException | None
    ) -> float | None:
        if self.retry is None:
            return None
        return self.retry.delay_for(attempt, response, error)


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
