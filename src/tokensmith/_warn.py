"""Warnings that name the application's line: :func:`warn_caller`."""

from __future__ import annotations

import sys
import warnings

from tokensmith.cache.store_io import REPEATED

__all__ = ["warn_caller"]


def warn_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first frame outside tokensmith (the
    application's call, however many of the library's frames are between), and given
    once per call: not again when an async application makes the call a second time
    off the loop (:mod:`tokensmith.cache.store_io`). So call it before the call's
    first store read: a warning after it would be given only in the repeated run,
    where it is dropped."""
    if REPEATED.get():
        return
    frame = sys._getframe(1)
    level = 2  # stacklevel 2: the frame that called this function
    while frame.f_back is not None and _skipped(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def _skipped(module: str) -> bool:
    """tokensmith's frames, and asyncio's (a call run as a task of its own is
    attributed to the ``asyncio.run(...)`` line rather than to the event loop)."""
    return module in ("tokensmith", "asyncio") or module.startswith(("tokensmith.", "asyncio."))
