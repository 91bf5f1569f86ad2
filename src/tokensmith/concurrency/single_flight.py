"""Single flight: concurrent callers for the same key share one execution.

Used so that N callers missing the same access token make one network refresh, not N
(MSAL Python sends them all). The idea is Go's ``singleflight.Group``, made to serve
threads and asyncio at once.

Design:

* **One registry.** A ``threading.Lock`` guards a dict from key to the in-flight
  :class:`_Call`. Threads and coroutines (on any event loop, in any thread) register in
  the same dict, so a key led by a thread makes coroutines wait for it and the reverse.
  The lock is held only for dict and set operations, never across ``fn`` or a wait, so
  taking it from a coroutine does not stall its event loop.
* **Waiters behind one interface.** A waiter only needs ``wake()``. A thread waits on a
  ``threading.Event``; a coroutine awaits a future on its own loop, resolved through
  ``loop.call_soon_threadsafe`` from whichever thread finishes the call. A coroutine
  never waits on a ``threading.Event``, so no event loop is ever blocked.
* **Outcome, then wake.** The leader records the outcome on the call, removes the key
  from the registry and wakes every registered waiter. A waiter that finds the call
  *settled* (``fn`` returned or raised an ``Exception``) returns or raises that outcome;
  one that finds it *abandoned* (the leader died of a ``BaseException`` such as
  ``asyncio.CancelledError`` or ``KeyboardInterrupt``) goes back to the registry, where
  one of the retrying callers becomes the new leader.
* **An orphaned leader.** An async leader whose event loop was closed under it (its
  Task still pending) never runs again: its call is abandoned. The next caller for the
  key leads instead, and a waiter checks every :data:`_CHECK_EVERY` seconds, so none
  waits for ever on it (:func:`_orphaned`).
* **Re-entrancy** is decided in one place, :func:`_reenters`: a caller that the leader
  is (transitively) waiting for runs ``fn`` directly rather than deadlocking.
* **Fork.** A child made by ``os.fork()`` starts with every registry empty and a new
  lock (:func:`_forget_after_fork`): its parent's leaders and waiters are threads and
  loops that do not exist there, so a child's caller leads its own run instead of
  waiting for ever on one of them (or, its thread reusing a dead leader's ident,
  taking itself for a re-entry). The lock may have been held by one of those threads.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ["SingleFlight"]

T = TypeVar("T")
_CHECK_EVERY = 1.0
"""Seconds between a waiter's checks that its leader is not orphaned."""


class _Waiter(Protocol):
    """Something parked on a call until the leader finishes it."""

    def wake(self) -> None:
        """Release the waiter; safe to call from any thread, more than once."""


class _ThreadWaiter:
    """A blocked thread: a ``threading.Event``."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    def wait(self, call: _Call) -> None:
        while not self._event.wait(_CHECK_EVERY) and not _orphaned(call):
            pass


class _AsyncWaiter:
    """A suspended coroutine: a future on the waiter's own event loop."""

    __slots__ = ("_future", "_loop", "_timer")

    def __init__(self) -> None:
        import asyncio  # only coroutines wait here, so asyncio is loaded already

        self._loop = asyncio.get_running_loop()
        self._future: asyncio.Future[None] = self._loop.create_future()

    def wake(self) -> None:
        with suppress(RuntimeError):  # the loop is closed: nobody is left there to wake
            self._loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self._future.done():  # a cancelled waiter's future is already done
            self._future.set_result(None)

    async def wait(self, call: _Call) -> None:
        self._timer = self._loop.call_later(_CHECK_EVERY, self._check, call)
        try:
            await self._future
        finally:
            self._timer.cancel()

    def _check(self, call: _Call) -> None:
        if _orphaned(call):
            self._resolve()
        else:
            self._timer = self._loop.call_later(_CHECK_EVERY, self._check, call)


W = TypeVar("W", _ThreadWaiter, _AsyncWaiter)
"""(Named by the classes, not by strings: a string is a forward reference, whose
compile() sets up the AST types, about 10 million instructions in every process.)"""


class _Call:
    """One in-flight execution: who leads it, who waits on it, how it ended."""

    __slots__ = ("error", "result", "settled", "task", "thread", "waiters")

    def __init__(self, thread: int, task: object | None) -> None:
        self.thread = thread  # the leader's thread (for an async leader, its loop's)
        self.task = task  # the leader's asyncio Task, None for a sync leader
        self.waiters: set[_Waiter] = set()
        self.settled = False  # False after completion means abandoned: retry
        self.result: Any = None
        self.error: Exception | None = None


class _Leading:
    """The leader's run: records an ``Exception`` as the shared outcome, then releases.

    A ``BaseException`` that is not an ``Exception`` leaves the call unsettled, i.e.
    abandoned: it propagates in the leader only and the woken waiters retry.
    """

    __slots__ = ("_call", "_release")

    def __init__(self, call: _Call, release: Callable[[], None]) -> None:
        self._call = call
        self._release = release

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, Exception):
            self._call.error, self._call.settled = exc, True
        self._release()


def _orphaned(call: _Call) -> bool:
    """Whether ``call`` is led by a Task whose event loop was closed while it ran."""
    task: Any = call.task
    return task is not None and not task.done() and task.get_loop().is_closed()


def _reenters(call: _Call, thread: int, task: object | None) -> bool:
    """Whether a caller must run ``fn`` itself because the leader depends on it.

    A sync caller (``task`` None) in the leader's thread is either inside a sync
    leader's ``fn`` or on the event loop an async leader needs; an async caller is the
    leading Task itself, or runs on a loop started inside a sync leader's ``fn``.
    """
    if task is None:
        return call.thread == thread
    return call.task is task or (call.task is None and call.thread == thread)


class SingleFlight:
    """Deduplicate concurrent calls per key, across threads and event loops.

    The first caller for a key (via :meth:`run` or :meth:`run_async`) runs ``fn``;
    callers arriving while it runs wait and receive the same return value, or the same
    exception re-raised. Once the call completes the key is free again: a later caller
    runs ``fn`` anew (results are not cached). Sync and async callers share runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call] = {}
        _instances.add(self)

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """Run ``fn`` once for all concurrent callers of ``key`` and return its result.

        Blocks the calling thread while another caller runs ``key``; from a coroutine
        use :meth:`run_async`. Runs ``fn`` directly, without waiting, when called from
        the thread that leads ``key`` (re-entry from inside ``fn``, or sync code on the
        event loop that an async leader of ``key`` runs on).

        Raises:
            Exception: whatever ``fn`` raised, in every caller that shared the run.
            BaseException: a non-``Exception`` raised by ``fn`` (``KeyboardInterrupt``,
                ``SystemExit``...) only in the caller that ran it; the callers waiting
                on that run retry, and one of them runs ``fn`` again.
        """
        thread = threading.get_ident()
        while True:
            joined = self._join(key, thread, None, _ThreadWaiter)
            if joined is None:
                return fn()
            call, waiter = joined
            if waiter is None:
                with self._leading(key, call):
                    value = fn()
                    call.result, call.settled = value, True
                    return value
            with self._registered(call, waiter):
                waiter.wait(call)
            if call.settled:
                result: T = self._outcome(call)
                return result

    async def run_async(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """Await ``fn()`` once for all concurrent callers of ``key``; return its result.

        Never blocks the event loop: waiting is awaiting a future on this loop, woken
        from whichever thread or loop finishes the run. Runs ``fn`` directly when the
        current Task already leads ``key``, or when a sync leader of ``key`` in this
        thread started this event loop from inside its ``fn``.

        Raises:
            Exception: whatever ``fn`` raised, in every caller that shared the run.
            asyncio.CancelledError: when this Task is cancelled. A cancelled waiter
                stops waiting and the run goes on for the others; a cancelled leader
                re-raises it alone, and the waiters retry (one runs ``fn`` again).
            BaseException: any other non-``Exception`` from ``fn``, as for a cancelled
                leader.
        """
        import asyncio  # loaded already: this is a coroutine

        thread, task = threading.get_ident(), asyncio.current_task()
        while True:
            joined = self._join(key, thread, task, _AsyncWaiter)
            if joined is None:
                return await fn()
            call, waiter = joined
            if waiter is None:
                with self._leading(key, call):
                    value = await fn()
                    call.result, call.settled = value, True
                    return value
            with self._registered(call, waiter):
                await waiter.wait(call)
            if call.settled:
                result: T = self._outcome(call)
                return result

    def in_flight(self) -> int:
        """Number of keys currently being run (for diagnostics and tests)."""
        with self._lock:
            return len(self._calls)

    def waiters(self, key: Hashable) -> int:
        """Number of threads and coroutines waiting on the run of ``key`` (0 if none)."""
        with self._lock:
            call = self._calls.get(key)
            return len(call.waiters) if call is not None else 0

    def _join(
        self,
        key: Hashable,
        thread: int,
        task: object | None,
        make_waiter: Callable[[], W],
    ) -> tuple[_Call, W | None] | None:
        """Register for ``key``: ``(call, None)`` to lead, ``(call, waiter)`` to wait.

        Returns None when the caller re-enters a run it leads and must run ``fn`` itself.
        An orphaned call is abandoned: the caller leads, and its waiters retry.
        """
        with self._lock:
            call = self._calls.get(key)
            if call is not None and not _orphaned(call):
                if _reenters(call, thread, task):
                    return None
                waiter = make_waiter()
                call.waiters.add(waiter)
                return call, waiter
            stale = list(call.waiters) if call is not None else []
            call = self._calls[key] = _Call(thread, task)
        for left in stale:  # an orphaned call's waiters: they retry, and wait on this one
            left.wake()
        return call, None

    def _leading(self, key: Hashable, call: _Call) -> _Leading:
        """The context in which the leader runs ``fn`` for ``key``."""
        return _Leading(call, lambda: self._release(key, call))

    def _release(self, key: Hashable, call: _Call) -> None:
        """Free ``key`` for later callers, then wake everyone waiting on ``call``."""
        with self._lock:
            if self._calls.get(key) is call:  # not so in a child forked during ``fn``
                del self._calls[key]
            waiters = list(call.waiters)
        for waiter in waiters:
            waiter.wake()

    @contextmanager
    def _registered(self, call: _Call, waiter: _Waiter) -> Iterator[None]:
        """Drop the waiter's registration if it stops waiting early (cancelled)."""
        try:
            yield
        except BaseException:
            with self._lock:
                call.waiters.discard(waiter)
            raise

    @staticmethod
    def _outcome(call: _Call) -> Any:
        """The settled outcome of ``call``: its result, or its exception raised."""
        if call.error is not None:
            raise call.error
        return call.result


_instances: weakref.WeakSet[SingleFlight] = weakref.WeakSet()


def _forget_after_fork() -> None:
    """In a forked child, forget the calls in flight in the parent, in every instance.

    Their leaders and waiters are the parent's threads and event loops. A leader that
    is the forking thread itself still finishes ``fn`` in the child and returns its
    result, but it no longer holds the key nor wakes the parent's waiters (an Event of
    a thread gone, a future of a loop that does not run here).
    """
    for flight in list(_instances):
        for call in flight._calls.values():
            call.waiters = set()
        flight._lock, flight._calls = threading.Lock(), {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
