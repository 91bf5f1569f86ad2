"""The edges of interactive sign-in: the loopback listener that receives the
authorization response (RFC 8252 §7.3) and the launch of the system browser.

This is I/O and stays outside :mod:`tokensmith.protocol`; the façade
(:mod:`tokensmith.application.interactive`) ties it to the authorization code flow.
How the listener is secured is written down in docs/interactive.md.
"""

from __future__ import annotations

from tokensmith.interactive.browser import open_browser, show_address
from tokensmith.interactive.listener import LoopbackListener
from tokensmith.interactive.templates import Pages

__all__ = ["LoopbackListener", "Pages", "open_browser", "show_address"]
