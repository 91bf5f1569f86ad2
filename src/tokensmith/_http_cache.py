"""The application's ``http_cache=``: a persisted dict-like mapping (a ``shelve``, a
dict pickled between runs) that MSAL Python keeps its throttling and its 24-hour cache
of discovery answers in, so a short-lived process does not discover again, nor hammer a
throttled endpoint, on every start.

tokensmith writes only keys that start with :data:`PREFIX` (then a kind and a SHA-256
digest: no URL, account or secret in clear) and only plain picklable values:
``(FORMAT, expires_at, value)`` with ``value`` built of str, int, float, None, tuples,
lists and dicts. It never touches a key it did not write, drops its own expired entries
when it reads them (and, at its first write in a process, every expired entry of its
own, so entries nobody asks for again do not pile up), and never lets the mapping break
an acquisition: a mapping that
raises, or a value of another shape (an older format, another library's), is logged
and treated as a miss.
"""

from __future__ import annotations

import threading
from typing import Any

from tokensmith._redact import logger

__all__ = ["FORMAT", "PREFIX", "HttpCache"]

PREFIX = "tokensmith:"
"""Every key tokensmith writes starts with this."""

FORMAT = 1
"""The layout of the values, first item of each (a value of another layout is a miss)."""


class HttpCache:
    """tokensmith's entries in a user's ``http_cache`` mapping (thread-safe).

    Args:
        mapping: any object with ``get``, ``__setitem__`` and ``__delitem__``
            (``dict``, ``shelve.Shelf``...).
    """

    def __init__(self, mapping: Any) -> None:
        self._mapping = mapping
        self._lock = threading.Lock()
        self._swept = False

    def __repr__(self) -> str:
        return f"HttpCache({type(self._mapping).__name__})"

    @staticmethod
    def key(kind: str, *parts: object) -> str:
        """The mapping key of ``parts`` (hashed) under ``kind``."""
        import hashlib  # loaded by the applications given an ``http_cache`` only

        digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()
        return f"{PREFIX}{kind}:{digest}"

    def get(self, key: str, now: float) -> Any:
        """The live value stored under ``key``, or ``None`` (absent, expired, unreadable)."""
        try:
            with self._lock:
                stored = self._mapping.get(key)
        except Exception as exc:  # the user's mapping: never fatal
            logger.warning("http_cache: reading failed (%s); going on without it", _name(exc))
            return None
        if stored is None:
            return None
        if not (
            isinstance(stored, tuple)
            and len(stored) == 3
            and stored[0] == FORMAT
            and isinstance(stored[1], (int, float))
        ):
            logger.info("http_cache: ignoring an entry of another format")
            self._drop(key)
            return None
        if stored[1] <= now:
            self._drop(key)
            return None
        return stored[2]

    def put(self, key: str, value: Any, expires_at: float, now: float) -> None:
        """Store ``value`` (plain picklable data) under ``key`` until ``expires_at``
        (``now``: the caller's clock)."""
        if not key.startswith(PREFIX):
            raise ValueError("http_cache keys must come from HttpCache.key()")
        if not self._swept:
            self._swept = True
            self._sweep(now)
        try:
            with self._lock:
                self._mapping[key] = (FORMAT, float(expires_at), value)
        except Exception as exc:  # the user's mapping: never fatal
            logger.warning("http_cache: writing failed (%s); going on without it", _name(exc))

    def _sweep(self, now: float) -> None:
        """Drop every expired or unreadable entry tokensmith wrote (``now``: a time
        no later than the present)."""
        try:
            with self._lock:
                ours = [k for k in list(self._mapping.keys()) if str(k).startswith(PREFIX)]
        except Exception as exc:  # a mapping that cannot list its keys: no sweep
            logger.debug("http_cache: cannot list keys (%s)", _name(exc))
            return
        for key in ours:
            self.get(key, now)  # drops it when expired or unreadable

    def _drop(self, key: str) -> None:
        try:
            with self._lock:
                del self._mapping[key]
        except Exception as exc:  # gone already, or a read-only mapping
            logger.debug("http_cache: could not drop an entry (%s)", _name(exc))


def _name(exc: BaseException) -> str:
    return type(exc).__name__
