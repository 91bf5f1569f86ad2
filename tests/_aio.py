"""A blocking view of a :mod:`tokensmith.aio` application, so the suites written
against MSAL's synchronous API also run the async applications.

:class:`BlockingApp` owns one event loop on a background thread; every coroutine
method of the wrapped application becomes a blocking call that runs on that loop
(``asyncio.run_coroutine_threadsafe(...).result(timeout)``), other attributes are
read and written through. The application really runs on asyncio: its transport is
whatever it builds for itself (``httpx.AsyncClient`` by default).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["BackgroundLoop", "BlockingApp", "blocking_app"]

T = TypeVar("T")

_OWN = frozenset({"_app", "_loop"})


class BackgroundLoop:
    """An event loop running on its own thread until :meth:`close`."""

    def __init__(self, timeout: float = 90.0) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="tokensmith-test-loop", daemon=True
        )
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (or exception)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Stop the loop, join its thread, close it."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(self.timeout)
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


class BlockingApp:
    """A synchronous proxy over one async application, on its own :class:`BackgroundLoop`.

    ``close()`` (or leaving ``with``) awaits the application's ``close()``, then stops
    the loop.
    """

    def __init__(self, app: Any, loop: BackgroundLoop | None = None) -> None:
        object.__setattr__(self, "_app", app)
        object.__setattr__(self, "_loop", loop or BackgroundLoop())

    @property
    def wrapped(self) -> Any:
        """The async application itself."""
        return self._app

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._app, name)
        if inspect.iscoroutinefunction(value):
            return _blocking(value, self._loop)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            raise AttributeError(name)
        setattr(self._app, name, value)

    def close(self) -> None:
        """Close the application, then the loop (idempotent)."""
        loop: BackgroundLoop = self._loop
        if not loop.loop.is_closed():
            try:
                loop.call(self._app.close())
            finally:
                loop.close()

    def __enter__(self) -> BlockingApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BlockingApp({self._app!r})"


def _blocking(method: Callable[..., Any], loop: BackgroundLoop) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return loop.call(method(*args, **kwargs))

    return call


def blocking_app(cls: Callable[..., Any], *args: Any, **kwargs: Any) -> BlockingApp:
    """Build ``cls(*args, **kwargs)`` (a :mod:`tokensmith.aio` class) behind a
    :class:`BlockingApp`."""
    return BlockingApp(cls(*args, **kwargs))
