"""Carrying out a :class:`~tokensmith.protocol.effects.BrowserSignIn` effect: the
loopback listener, the browser, the wait. The drivers call :func:`sign_in` (blocking)
or :func:`sign_in_async` (awaits without blocking the loop); everything but the wait
is :func:`_opened`, shared by both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tokensmith._redact import logger
from tokensmith.interactive.browser import open_browser, show_address
from tokensmith.interactive.listener import LoopbackListener
from tokensmith.interactive.templates import Pages
from tokensmith.progress import report_browser_wait
from tokensmith.protocol.effects import BrowserSignIn

__all__ = ["sign_in", "sign_in_async"]


def sign_in(request: BrowserSignIn) -> dict[str, str]:
    """Open the browser at the sign-in and block until its answer came back.

    Raises:
        BrowserInteractionTimeoutError: no answer within ``request.timeout``.
        ValueError: the port cannot be listened on.
    """
    with _opened(request) as listener:
        return listener.wait(request.timeout)


async def sign_in_async(request: BrowserSignIn) -> dict[str, str]:
    """:func:`sign_in` for a coroutine; cancelling it closes the listener."""
    with _opened(request) as listener:
        return await listener.wait_async(request.timeout)


@contextmanager
def _opened(request: BrowserSignIn) -> Iterator[LoopbackListener]:
    pages = request.pages if isinstance(request.pages, Pages) else Pages()
    with LoopbackListener(
        request.port, response_mode=request.response_mode, pages=pages
    ) as listener:
        state, auth_uri = request.start(listener.redirect_uri)
        listener.expect(state, auth_uri)
        if request.on_before_launching_ui is not None:
            request.on_before_launching_ui(ui="browser")
        target = listener.welcome_uri if pages.welcome else auth_uri
        logger.debug("Interactive sign-in: waiting on loopback port %s", listener.port)
        opened = open_browser(target, request.browser_name)
        if not opened:
            show_address(target, request.auth_uri_callback)
        report_browser_wait(target, request.timeout, opened)
        yield listener
