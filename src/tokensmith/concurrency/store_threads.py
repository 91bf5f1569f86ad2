"""The worker threads of store I/O for asyncio code (the flow steps of an application
over a persistent store, the Redis single flight's lock round trips).

They are tokensmith's own pool, so a hung store cannot take the loop's default
executor, which asyncio's name lookups use; a forked child makes a pool of its own.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["submit"]

T = TypeVar("T")
P = ParamSpec("P")
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=min(32, (os.cpu_count() or 1) + 4),
                    thread_name_prefix="tokensmith-store",
                )
    return _pool


def submit(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
    """Run ``fn(*args, **kwargs)`` in a store thread, in a copy of the caller's
    context as it is now (as ``asyncio.to_thread`` does)."""
    context = contextvars.copy_context()
    return _threads().submit(context.run, functools.partial(fn, *args, **kwargs))


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: it makes its own pool."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
