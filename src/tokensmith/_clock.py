"""The clock, injected everywhere it matters.

Anything that compares times takes a ``Clock`` so tests can move time without patching
module globals.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "FakeClock", "system_clock"]

Clock = Callable[[], float]
"""A zero-argument callable returning epoch seconds."""


def system_clock() -> float:
    """Return the current epoch time in seconds (a function calling ``time.time`` on
    each call, not ``time.time`` itself, so freezegun's patch reaches it)."""
    return time.time()


class FakeClock:
    """A clock for tests: stands still until told to move.

    ``sleep`` advances it, so it can be handed to a driver as its sleep function.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Pretend to sleep: advance the clock."""
        self.now += max(0.0, seconds)
