"""The one authorization response a loopback listener accepts (RFC 8252 §8.3 and the
``state`` check of RFC 6749 §10.12): the handler threads of
:mod:`tokensmith.interactive.listener` offer each candidate here, and the first that
carries the expected ``state`` and a well-formed ``code`` or ``error`` is the answer."""

from __future__ import annotations

import threading

from tokensmith.errors import ProtocolError
from tokensmith.interactive.templates import DEFAULT_ERROR, DEFAULT_SUCCESS, Page, Pages, render
from tokensmith.protocol.authorization_code import parse_authorization_response, state_matches

__all__ = ["Exchange"]


class Exchange:
    """What the handler threads share: the expected state, the pages, the one result."""

    def __init__(self, response_mode: str, pages: Pages) -> None:
        self.response_mode = response_mode
        self.pages = pages
        self.state: str | None = None
        self.auth_uri = ""
        self.hosts: frozenset[str] = frozenset()
        self.lock = threading.Lock()
        self.result: dict[str, str] | None = None
        self.done = threading.Event()

    def offer(self, params: dict[str, list[str]]) -> tuple[int, Page, bool]:
        """Judge a candidate response: ``(status, page, accepted)``."""
        flat = {k: v[0] for k, v in params.items() if len(v) == 1}
        with self.lock:
            if self.state is None:  # before expect(): nothing can be the answer yet
                return 503, Page("Not ready for a sign-in response yet.", "text/plain"), False
            if self.result is not None:
                return 409, Page("This sign-in has already completed.", "text/plain"), False
            if not state_matches(self.state, flat.get("state")):
                text = "State mismatch: this response was not expected. Still waiting."
                return 400, Page(text, "text/plain"), False
            try:
                response = parse_authorization_response(flat, expected_state=self.state)
            except ProtocolError:
                text = (
                    "Malformed sign-in response (a parameter missing or repeated). Still waiting."
                )
                return 400, Page(text, "text/plain"), False
            self.result = flat
        if response.error:
            return 200, render(self.pages.error or DEFAULT_ERROR, flat), True
        return 200, render(self.pages.success or DEFAULT_SUCCESS, flat), True
