"""Where a store-backed cache may do its store I/O: an async application keeps it off
the event loop.

A cache whose lookups may read a store (``PersistentTokenCache``) sets
``store_backed = True``. A :mod:`tokensmith.aio` application first makes a call's
cache lookups in *memory-only* mode, on the loop: when memory answers (an L1 hit), no
thread is involved; when the store would have to be read, the cache raises
:class:`StoreReadDeferred` before changing anything and the application makes the
call again in a worker thread, where the store is read. The flows of such an
application also run their steps in worker threads (the store writes of a token
response, a refresh's reads). Sync applications never enter memory-only mode.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["MEMORY_ONLY", "REPEATED", "STORE_FIRST", "StoreReadDeferred", "check_store_read"]

MEMORY_ONLY: ContextVar[bool] = ContextVar("tokensmith_memory_only", default=False)
"""True while a call's cache lookups must not read a store (set and reset by the async
application around a synchronous section, never across an ``await``)."""


REPEATED: ContextVar[bool] = ContextVar("tokensmith_repeated_call", default=False)
"""True while such a call is made the second time, in the worker thread: its warnings
were given on the loop the first time (:func:`tokensmith._warn.warn_caller`)."""


STORE_FIRST: ContextVar[bool] = ContextVar("tokensmith_store_first", default=False)
"""True while a holder of the Redis single flight's lock runs (one that waited for
another process's fetch, or took the lock just after one finished): its token lookups
read their partition from the store first, so they find what that process obtained
even where memory holds an older token that is still usable but due for refresh (a
memory hit would fetch it again)."""


class StoreReadDeferred(BaseException):
    """A lookup in memory-only mode needs the store (internal: the async application
    catches it and makes the call again off the loop). A ``BaseException``, so that no
    ``except Exception`` on the way swallows it."""


def check_store_read() -> None:
    """Call before reading a store.

    Raises:
        StoreReadDeferred: in memory-only mode.
    """
    if MEMORY_ONLY.get():
        raise StoreReadDeferred
