"""What a sans-I/O flow may ask its driver to do: the closed set of effects.

A flow is a generator. It yields one of these values and is resumed with the answer:

==================  ==========================================  =========================
effect              the driver                                  the flow is sent
==================  ==========================================  =========================
:class:`HttpRequest`  sends it (through retries and throttling)   the :class:`HttpResponse`
:class:`Sleep`        waits (``time.sleep`` / ``asyncio.sleep``)  ``None``
:class:`Shared`       runs ``flow()`` once for every concurrent   the shared flow's result
                      flow asking with the same key (single
                      flight, threads and coroutines alike)
:class:`BrowserSignIn` opens the loopback listener and the        the authorization response
                      system browser, waits for the answer        (a dict of parameters)
:class:`BrokerCall`   makes one blocking broker call (in a        what the call returned
                      worker thread under asyncio)
==================  ==========================================  =========================

When the driver fails to carry an effect out (a transport error, a sign-in timeout, a
shared flow that raised), the exception is thrown into the flow at its ``yield``, so a
flow may handle it. The sync driver (:mod:`tokensmith.drivers.sync`) and the async one
(:mod:`tokensmith.drivers.asyncio`) run the very same flows.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations would
# be strings, and typing compiles each into a forward reference; the first compile()
# of a process sets up the AST types (~10 million instructions, every CLI process).

from collections.abc import Awaitable, Callable, Generator, Hashable
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast

from tokensmith._readonly import ReadOnly
from tokensmith.protocol.http import HttpRequest

__all__ = [
    "BrokerCall",
    "BrowserSignIn",
    "Done",
    "Effect",
    "FlightGroup",
    "Flow",
    "Shared",
    "Sleep",
    "shared",
    "sign_in_in_browser",
]

T = TypeVar("T")

# Named tuples and a plain class, not dataclasses (see "Import cost" in
# docs/architecture.md). Fields holding callables stay out of the reprs.


class Sleep(NamedTuple):
    """Ask the driver to wait ``seconds`` before resuming the flow (sent ``None``).

    ``waits_for_user``: the flow waits for a person (a device-code poll interval), not
    for a server; the driver then starts the call's deadline afresh afterwards, where
    a retry's wait counts against it. ``seconds_left``: how long the person has left
    (a device code's remaining lifetime), which the driver reports as progress
    (:mod:`tokensmith.progress`).
    """

    seconds: float
    waits_for_user: bool = False
    seconds_left: float | None = None


class FlightGroup(Protocol):
    """Deduplicates concurrent runs per key, for threads and coroutines alike
    (:class:`tokensmith.concurrency.SingleFlight`)."""

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """Run ``fn`` once for all concurrent callers of ``key`` (blocking)."""
        ...

    async def run_async(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """Await ``fn()`` once for all concurrent callers of ``key``."""
        ...


class Shared(ReadOnly, Generic[T]):
    """Ask the driver to run ``flow()`` once for every flow that asks, at the same time,
    with the same ``key`` in ``group``; each of them is sent its result (or has its
    exception thrown in). Only the caller that runs it builds the flow. Read-only."""

    __slots__ = ("flow", "group", "key")

    group: FlightGroup
    key: Hashable
    flow: "Callable[[], Flow[T]]"

    def __init__(self, group: FlightGroup, key: Hashable, flow: "Callable[[], Flow[T]]") -> None:
        set_field = object.__setattr__
        set_field(self, "group", group)
        set_field(self, "key", key)
        set_field(self, "flow", flow)

    def __repr__(self) -> str:
        return f"Shared(key={self.key!r})"


class BrowserSignIn(NamedTuple):
    """Ask the driver for one authorization response through the system browser
    (RFC 8252 §7.3): listen on loopback, call ``start(redirect_uri)`` for the
    ``(state, auth_uri)`` to expect and open, open the browser, wait.

    Attributes:
        start: builds the authorization request for the listener's redirect URI.
        port: the loopback port (None: a free one).
        response_mode: ``"form_post"`` or ``"query"``.
        pages: the page templates (:class:`tokensmith.interactive.Pages`).
        timeout: seconds to wait (None: no limit).
        browser_name: a name registered with :mod:`webbrowser`, if any.
        auth_uri_callback: called with the address when no browser opened.
        on_before_launching_ui: called as ``on_before_launching_ui(ui="browser")``.
    """

    start: Callable[[str], tuple[str, str]]
    port: int | None = None
    response_mode: str = "form_post"
    pages: Any = None
    timeout: float | None = None
    browser_name: str | None = None
    auth_uri_callback: Callable[[str], object] | None = None
    on_before_launching_ui: Callable[..., object] | None = None

    def __repr__(self) -> str:
        return (
            f"BrowserSignIn(port={self.port!r}, response_mode={self.response_mode!r}, "
            f"timeout={self.timeout!r}, browser_name={self.browser_name!r})"
        )


class BrokerCall(NamedTuple):
    """Ask the driver to make one call to an authentication broker
    (:mod:`tokensmith.broker`): ``call()``, which blocks, run in a worker thread by
    the async driver. ``interactive``: the call waits for a person (the broker's
    sign-in UI), so the call's deadline starts afresh afterwards."""

    operation: str
    call: Callable[[], Any]
    interactive: bool = False

    def __repr__(self) -> str:
        return f"BrokerCall(operation={self.operation!r}, interactive={self.interactive!r})"


Effect = HttpRequest | Sleep | Shared[Any] | BrowserSignIn | BrokerCall
Flow = Generator[Effect, Any, T]
"""A flow yields effects, is sent their answers (see the module doc), returns ``T``."""


class Done(Generator[Effect, Any, T]):
    """A flow that is finished before it starts: it asks for nothing and returns
    ``value``. Drivers answer it without stepping it (a cache hit costs no generator);
    stepped like any generator, it returns at once."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def send(self, _reply: Any) -> Effect:
        raise StopIteration(self.value)

    def throw(self, typ: Any = None, val: Any = None, tb: Any = None) -> Effect:
        raise typ if val is None else val

    def __repr__(self) -> str:
        return "Done(...)"


def shared(group: FlightGroup, key: Hashable, flow: Callable[[], Flow[T]]) -> Flow[T]:
    """Run ``flow()`` under single flight (see :class:`Shared`) and return its result."""
    result = yield Shared(group, key, flow)
    return cast(T, result)


def sign_in_in_browser(request: BrowserSignIn) -> Flow[dict[str, str]]:
    """Yield ``request`` and return the authorization response the browser brought."""
    response = yield request
    return cast("dict[str, str]", response)
