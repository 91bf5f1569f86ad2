"""Single-flight: concurrent callers for the same key share one execution.

Used so that N threads missing the same access token make one network refresh, not
N (MSAL Python sends them all). The idea is Go's ``singleflight.Group``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Call:
    """One in-flight execution: its owner, completion event and outcome."""

    __slots__ = ("done", "error", "owner", "result", "waiters")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.waiters = 0
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class SingleFlight:
    """Deduplicate concurrent calls per key.

    The first caller of :meth:`run` for a key runs ``fn``; callers arriving while it
    runs block and receive the same return value, or the same exception re-raised.
    Once the call completes the key is free again: a later caller runs ``fn`` anew
    (results are not cached). A nested call for the same key from the thread that is
    already running it runs ``fn`` directly instead of deadlocking.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call] = {}

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """Run ``fn`` once for all concurrent callers of ``key`` and return its result.

        Raises:
            BaseException: whatever ``fn`` raised, in every caller that shared the run.
        """
        me = threading.get_ident()
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call(me)
            elif call.owner != me:
                call.waiters += 1
        if not leader:
            if call.owner == me:  # re-entered from inside fn: do not wait on ourselves
                return fn()
            call.done.wait()
            if call.error is not None:
                raise call.error
            result: T = call.result
            return result
        try:
            value = fn()
            call.result = value
            return value
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()

    def in_flight(self) -> int:
        """Number of keys currently being run (for diagnostics and tests)."""
        with self._lock:
            return len(self._calls)

    def waiters(self, key: Hashable) -> int:
        """Number of callers waiting on the run of ``key`` (0 when none is running)."""
        with self._lock:
            call = self._calls.get(key)
            return call.waiters if call is not None else 0
