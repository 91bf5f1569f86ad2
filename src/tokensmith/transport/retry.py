"""When to try an HTTP request again, and how long to wait first (sans-I/O).

Decisions only; no sleeping and no sending. :class:`RetryPolicy` is consulted by
:class:`tokensmith.transport.resilient.ResilientTransport` (and can be by an async
twin) after every attempt.

Rules:

* Only :class:`~tokensmith.errors.TransportError` (no HTTP answer at all) whose
  ``retryable`` is true (not a certificate failure or an unknown host:
  :mod:`tokensmith.transport.hints`), HTTP 5xx and HTTP 429 are retried; every other
  exception and status is final.
* ``Retry-After`` (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) is honoured on
  429/5xx. A wait longer than ``max_retry_after`` is not slept through: the response
  is handed back so the caller (and the throttle) can act on it.
* Otherwise the wait is exponential backoff, ``backoff * 2 ** (attempt - 1)`` capped at
  ``max_backoff``, with "equal jitter" (between half and all of it) drawn from an
  injectable source so tests are deterministic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from tokensmith._clock import Clock, system_clock
from tokensmith.errors import ConfigurationError, TransportError
from tokensmith.protocol.http import HttpResponse, parse_retry_after, retry_after_of

__all__ = ["RetryPolicy", "parse_retry_after", "retry_after_of"]


def _is_retryable_status(status_code: int) -> bool:
    return status_code == 429 or 500 <= status_code <= 599


class RetryPolicy:
    """Decide whether, and after how long, to try a request again.

    Args:
        max_attempts: total attempts including the first (1 disables retries).
        backoff: base delay in seconds for the first retry without ``Retry-After``.
        max_backoff: upper bound of a computed backoff delay.
        max_retry_after: the longest ``Retry-After`` worth waiting for in-process;
            longer ones end the retries and the response is returned.
        jitter: returns a number in ``[0, 1)``; ``random.random`` by default. Inject a
            constant for deterministic delays.
        clock: epoch-seconds clock, used for ``Retry-After`` HTTP-dates.

    Raises:
        ConfigurationError: for a non-positive ``max_attempts`` or negative delays.
    """

    def __init__(
        self,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
        *,
        jitter: Callable[[], float] = random.random,
        clock: Clock = system_clock,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
            raise ConfigurationError("max_attempts must be an int")
        if max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        for name, number in (
            ("backoff", backoff),
            ("max_backoff", max_backoff),
            ("max_retry_after", max_retry_after),
        ):
            if not isinstance(number, (int, float)) or isinstance(number, bool):
                raise ConfigurationError(f"{name} must be a number of seconds")
            if not (number >= 0 and math.isfinite(number)):
                raise ConfigurationError(f"{name} must be a finite number >= 0")
        self.max_attempts = max_attempts
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self._jitter = jitter
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_attempts={self.max_attempts}, backoff={self.backoff}, "
            f"max_backoff={self.max_backoff}, max_retry_after={self.max_retry_after})"
        )

    def delay_for(
        self,
        attempt: int,
        response: HttpResponse | None,
        error: BaseException | None,
    ) -> float | None:
        """Return how long to wait before the next attempt, or ``None`` to stop.

        Args:
            attempt: how many attempts have been made so far (1 after the first).
            response: the response of that attempt, if it got one.
            error: the exception that attempt raised, if it did.

        Returns:
            Seconds to sleep before trying again, or ``None`` when the outcome is final:
            success or a non-retryable status/exception, attempts exhausted, or a
            ``Retry-After`` above ``max_retry_after``.
        """
        if attempt >= self.max_attempts:
            return None
        if error is not None:
            if isinstance(error, TransportError) and error.retryable:
                return self.backoff_for(attempt)
            return None
        if response is None or not _is_retryable_status(response.status_code):
            return None
        retry_after = retry_after_of(response, self._clock())
        if retry_after is None:
            return self.backoff_for(attempt)
        if retry_after > self.max_retry_after:
            return None
        return retry_after

    def backoff_for(self, attempt: int) -> float:
        """Return the jittered exponential backoff after attempt number ``attempt``."""
        exponent = min(max(attempt - 1, 0), 62)  # beyond that the cap applies anyway
        ceiling = min(self.max_backoff, self.backoff * (2.0**exponent))
        fraction = min(max(float(self._jitter()), 0.0), 1.0)
        return ceiling * (0.5 + 0.5 * fraction)
