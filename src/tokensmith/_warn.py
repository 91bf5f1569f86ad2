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
    off the loop (:mod:`tokensmith.cache.store_io`)."""
    if REPEATED.get():
        return
    frame = sys._getframe(1)
    level = 2  # stacklevel 2: the frame that called this function
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        ("tokensmith.", "tokensmith")
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
