"""Opening the system browser, and the fallback when there is none.

The browser is started through :mod:`webbrowser`, so the ``BROWSER`` environment
variable (read by :mod:`webbrowser` when it first looks for browsers) is honoured.
When nothing can be opened the address is shown so that a person can open it by hand
on this device (the redirect goes to this device's loopback address).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from tokensmith._redact import logger

__all__ = ["open_browser", "show_address"]

_CONTROL = frozenset(chr(c) for c in range(32)) | {"\x7f"}


def open_browser(url: str, browser_name: str | None = None) -> bool:
    """Open ``url`` (http or https only) in the system browser.

    Args:
        url: the address.
        browser_name: a browser registered with :func:`webbrowser.register`; None
            uses the default one (``BROWSER`` if set).

    Returns:
        True when a browser accepted the address, False when none could be started
        or the address is not a plain http(s) URL.
    """
    if urlsplit(url).scheme not in ("http", "https") or any(c in _CONTROL for c in url):
        logger.warning("Refusing to open a browser on an address that is not http(s)")
        return False
    import webbrowser

    try:
        if browser_name:
            return bool(webbrowser.get(browser_name).open(url))
        return bool(webbrowser.open(url))
    except (webbrowser.Error, OSError) as exc:
        logger.debug("No browser could be opened: %s", type(exc).__name__)
        return False


def show_address(url: str, auth_uri_callback: Callable[[str], object] | None = None) -> None:
    """Tell the person where to sign in when no browser opened: through the app's
    ``auth_uri_callback`` if it has one, else on standard error."""
    if auth_uri_callback is not None:
        auth_uri_callback(url)
        return
    print(
        "No web browser could be opened. To sign in, open this address in a browser "
        f"on this device:\n\n    {url}\n",
        file=sys.stderr,
        flush=True,
    )
    logger.warning("No web browser could be opened; the sign-in address was shown on stderr")
