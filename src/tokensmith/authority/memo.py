"""A process-wide, thread-safe memo of discovery results, with a time to live.

Discovery documents change rarely; Entra serves them with ``max-age=86400`` and MSAL
keeps them 24 hours. The memo does no I/O: the caller hands it a zero-argument
resolver, and concurrent callers for one key wait for a single resolution (per-key
lock), so 32 threads starting against one authority cause one discovery. A failed
resolution is not remembered: the next caller (including a waiting one) tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from tokensmith._clock import Clock, system_clock
from tokensmith.authority.discovery import AuthorityMetadata
from tokensmith.authority.parse import AuthoritySpec
from tokensmith.entra.hosts import AliasGroup

__all__ = [
    "DEFAULT_TTL",
    "MetadataMemo",
    "TtlMemo",
    "alias_memo",
    "clear",
    "metadata_key",
    "metadata_memo",
]

V = TypeVar("V")

DEFAULT_TTL = 24 * 3600.0
"""Seconds a discovery result stays valid."""


class TtlMemo(Generic[V]):
    """Remembers values by key for ``ttl`` seconds of the injected ``clock``."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Clock = system_clock) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[float, V] | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry if entry is not None and self._clock() < entry[0] else None

    def get(self, key: Hashable) -> V | None:
        """Return the fresh value for ``key``, or ``None``."""
        entry = self._fresh(key)
        return None if entry is None else entry[1]

    def get_or_resolve(self, key: Hashable, resolve: Callable[[], V]) -> V:
        """Return the fresh value for ``key``, calling ``resolve()`` at most once at a time.

        Exceptions from ``resolve`` propagate and nothing is stored.
        """
        entry = self._fresh(key)
        if entry is not None:
            return entry[1]
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            entry = self._fresh(key)  # another thread may have resolved it meanwhile
            if entry is not None:
                return entry[1]
            resolved = resolve()
            self.put(key, resolved)
            return resolved

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value`` for ``key`` (for example, metadata given by the developer)."""
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, value)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def metadata_key(spec: AuthoritySpec) -> Hashable:
    """The memo key of an authority: its discovery URL, and what shapes the result.

    Two specs share a key only when they would be discovered the same way: same
    discovery URL, same kind (issuer checks differ) and same instance validation.
    """
    validation = spec.instance_discovery_endpoint if spec.needs_instance_discovery else None
    return (spec.discovery_url, spec.kind, validation)


class MetadataMemo(TtlMemo[AuthorityMetadata]):
    """A memo of :class:`AuthorityMetadata` keyed by :func:`metadata_key`."""

    def resolve(
        self, spec: AuthoritySpec, resolver: Callable[[], AuthorityMetadata]
    ) -> AuthorityMetadata:
        """Return the fresh metadata of ``spec``, calling ``resolver()`` if there is none.

        Concurrent callers for the same authority wait for one ``resolver()`` call.
        """
        return self.get_or_resolve(metadata_key(spec), resolver)


metadata_memo = MetadataMemo()
"""Process-wide memo of :class:`AuthorityMetadata`."""

alias_memo: TtlMemo[tuple[AliasGroup, ...]] = TtlMemo()
"""Process-wide memo of alias groups, keyed by instance discovery host (or endpoint)."""


def clear() -> None:
    """Forget every process-wide discovery result (for tests)."""
    metadata_memo.clear()
    alias_memo.clear()
