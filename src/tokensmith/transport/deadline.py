"""The time bound of one acquire call, shared by every request the call makes.

MSAL's ``timeout`` bounds each connect and each read; a server that sends one body byte
a second never trips it. The deadline bounds the call: the runner opens a window of
``seconds`` around one flow (:func:`opened`), and everything below reads it from a
context variable (:func:`current`), so the :class:`~tokensmith.transport.Transport`
interface keeps its one argument:

* the resilient transports start no attempt and sleep through no retry delay past it
  (:func:`tokensmith.transport.resilient._attempts`); the async one also cancels an
  inner send at it (:func:`bounded`);
* the httpx transports cap every phase's timeout at the time left and check the clock
  after every chunk of the body;
* the MSAL-style ``http_client`` adapter passes ``timeout=`` the time left (when it
  passes a timeout at all); it cannot interrupt the user's client.

Waiting for the user is not network work: after a device-code poll interval or a
browser sign-in the driver opens a fresh window (:func:`reopened`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar, Token
from typing import Any, TypeVar, overload

from tokensmith.errors import ConfigurationError, TransportTimeout

__all__ = [
    "DEFAULT_DEADLINE",
    "Deadline",
    "before_sleep",
    "bounded",
    "capped",
    "check_deadline",
    "closed",
    "current",
    "entered",
    "opened",
    "reopened",
]

T = TypeVar("T")

DEFAULT_DEADLINE = 120.0
"""Seconds one acquire call may spend on the network, retries included."""


class Deadline:  # not a dataclass: see "Import cost" in docs/architecture.md
    """The window of the running call: ``seconds`` long, ending at ``ends`` on ``timer``."""

    __slots__ = ("ends", "seconds", "timer")

    def __init__(
        self, seconds: float, ends: float, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.ends = ends
        self.timer = timer

    def __repr__(self) -> str:
        return f"Deadline(seconds={self.seconds!r}, ends={self.ends!r})"

    def remaining(self) -> float:
        """Seconds left (negative once past)."""
        return self.ends - self.timer()

    def exceeded(self, what: str) -> TransportTimeout:
        """The error to raise for ``what`` (``"POST to host"``) once past the end."""
        return TransportTimeout(f"{what} exceeded the call's deadline of {self.seconds:g} s")


_CURRENT: ContextVar[Deadline | None] = ContextVar("tokensmith_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the call running in this context, if one is open."""
    return _CURRENT.get()


def check_deadline(seconds: object) -> float | None:
    """Validate an application's ``deadline=`` argument.

    Raises:
        ConfigurationError: not ``None`` and not a finite number of seconds above 0.
    """
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ConfigurationError("deadline must be a number of seconds or None")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigurationError("deadline must be a finite number of seconds above 0")
    return float(seconds)


@contextmanager
def opened(seconds: float | None, timer: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """A window of ``seconds`` while the block runs (None: leave any enclosing window
    in place)."""
    token = entered(seconds, timer)
    try:
        yield
    finally:
        closed(token)


def entered(
    seconds: float | None, timer: Callable[[], float] = time.monotonic
) -> Token[Deadline | None] | None:
    """:func:`opened` as two plain calls (this, then :func:`closed` with its answer),
    which is what the drivers use: every flow run pays for them."""
    if seconds is None:
        return None
    return _CURRENT.set(Deadline(seconds, timer() + seconds, timer))


def closed(token: Token[Deadline | None] | None) -> None:
    """Restore the window that was open before :func:`opened` returned ``token``.

    A call whose coroutine is closed outside the context it ran in (an orphan of a
    closed event loop, ended by the garbage collector) has no window to restore there:
    nothing is done, where ``ContextVar.reset`` would raise ``ValueError``."""
    if token is not None:
        with suppress(ValueError):  # another context: the window went with it
            _CURRENT.reset(token)


@overload
def capped(seconds: float) -> float: ...
@overload
def capped(seconds: None) -> float | None: ...
def capped(seconds: float | None) -> float | None:
    """A per-operation timeout of ``seconds`` (``None``: none), lowered to the time the
    open window leaves when that is less."""
    deadline = _CURRENT.get()
    if deadline is None:
        return seconds
    left = max(deadline.remaining(), 0.001)
    return left if seconds is None else min(seconds, left)


def reopened() -> None:
    """Start the open window afresh (after the flow waited for the user); the enclosing
    :func:`opened` still restores what was there before it."""
    deadline = _CURRENT.get()
    if deadline is not None:
        _CURRENT.set(
            Deadline(deadline.seconds, deadline.timer() + deadline.seconds, deadline.timer)
        )


def before_sleep(seconds: float) -> None:
    """Refuse a wait (a flow's own retry delay) that would end past the open window.

    Raises:
        TransportTimeout: the wait would outlast the call's deadline.
    """
    deadline = _CURRENT.get()
    if deadline is not None and seconds >= deadline.remaining():
        raise deadline.exceeded(f"waiting {seconds:g} s to retry")


async def bounded(pending: Awaitable[T], what: str) -> T:
    """Await ``pending``, cancelling it at the open window's end.

    Raises:
        TransportTimeout: the window ended first (or had already ended).
    """
    import asyncio  # not at import time: ``import tokensmith`` does not load asyncio

    deadline = _CURRENT.get()
    if deadline is None:
        return await pending
    left = deadline.remaining()
    if left <= 0:
        if asyncio.iscoroutine(pending):
            pending.close()  # never started: no "never awaited" warning
        raise deadline.exceeded(what)
    timeout: Any = getattr(asyncio, "timeout", None)
    if timeout is None:  # Python 3.10, where asyncio.TimeoutError is wait_for's own
        try:
            return await asyncio.wait_for(pending, left)
        except asyncio.TimeoutError:
            raise deadline.exceeded(what) from None
    scope = timeout(left)  # 3.11+: cancels in place, no extra task
    try:
        async with scope:
            return await pending
    except TimeoutError:
        if not scope.expired():
            raise  # the inner send's own timeout, not the deadline
        raise deadline.exceeded(what) from None
