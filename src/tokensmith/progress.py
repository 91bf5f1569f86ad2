"""Progress while a call waits for a person: a hook for apps and command lines.

Two waits can take minutes: polling while the person enters a device code, and the
browser sign-in. The flows stay pure: the device-code flow says how long the code
has left in the :class:`~tokensmith.protocol.effects.Sleep` it yields, and the drivers
(and the browser edge) report each wait here. An app sees the reports by installing
a callback around its call, or by listening to the ``tokensmith.progress`` logger::

    from tokensmith.progress import Waiting, on_progress

    def show(event: Waiting) -> None:
        print(f"\\r{event.message} ({event.seconds_left:.0f} s left)", end="")

    with on_progress(show):                    # this thread / this task only
        result = app.acquire_token_by_device_flow(flow)

A device-code wait is reported about once a second (``kind="device_code"``,
``seconds_left`` until the code expires); a browser sign-in once, when the browser
was opened or its address shown (``kind="browser"``, ``seconds_left`` the timeout or
None, ``address`` where to sign in). The callback runs in the waiting thread (or
coroutine): keep it short; an exception it raises propagates and ends the call
(which is how a callback can cancel). The logger gets the same events at DEBUG.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tokensmith._redact import lazy_logger

__all__ = ["Waiting", "on_progress", "report", "report_browser_wait", "report_device_wait"]

logger = lazy_logger("tokensmith.progress")


@dataclass(frozen=True, slots=True)
class Waiting:
    """One report of a wait for a person.

    Attributes:
        kind: ``"device_code"`` or ``"browser"``.
        seconds_left: seconds until the wait ends by itself (the code expires, the
            browser times out), or None for no limit.
        message: a sentence to show the person.
        address: where the person signs in (the browser's address), if known.
    """

    kind: str
    seconds_left: float | None
    message: str
    address: str | None = None


_callback: ContextVar[Callable[[Waiting], object] | None] = ContextVar(
    "tokensmith_progress", default=None
)


@contextmanager
def on_progress(callback: Callable[[Waiting], object]) -> Iterator[None]:
    """Call ``callback`` with every :class:`Waiting` report inside the block (in this
    thread or task, and in the coroutines it awaits)."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def report(event: Waiting) -> None:
    """Hand ``event`` to the installed callback and the ``tokensmith.progress`` logger
    (called by the drivers and the browser edge, never by a flow)."""
    logger.debug("%s: %s (%s s left)", event.kind, event.message, event.seconds_left)
    callback = _callback.get()
    if callback is not None:
        callback(event)


def report_device_wait(seconds_left: float) -> None:
    """A device-code poll waits: the code has ``seconds_left`` (the drivers' call)."""
    report(Waiting("device_code", seconds_left, "waiting for the device-code sign-in"))


def report_browser_wait(address: str, timeout: float | None, opened: bool) -> None:
    """The browser sign-in started (the browser edge's call)."""
    where = "in the browser" if opened else f"at {address}"
    report(Waiting("browser", timeout, f"waiting for the sign-in {where}", address))
