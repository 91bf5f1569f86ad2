"""A process-wide memo of discovery results, with a time to live.

Discovery documents change rarely; Entra serves them with ``max-age=86400`` and MSAL
keeps them 24 hours. The memo does no I/O: :func:`memoized` is a step of a flow that
answers from the memo or runs the discovery flow it is given under the memo's single
flight, so 32 threads and 100 coroutines starting against one authority cause one
discovery, and nothing blocks an event loop. In-flight keys are freed when their
discovery ends. A failed discovery is not remembered: the next caller (including a
waiting one) tries again.

Given an application's ``http_cache`` (:class:`~tokensmith._http_cache.HttpCache`) and
a :class:`Codec` for the values, a result is also written there, as plain data, for
the memo's time to live, and a key the memo lacks is looked up there first: the next
process of a short-lived CLI does not discover again. A persisted value the codec
cannot read is a miss.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from tokensmith._clock import Clock, system_clock
from tokensmith._http_cache import HttpCache
from tokensmith._redact import logger
from tokensmith.authority.discovery import AuthorityMetadata
from tokensmith.authority.parse import AuthoritySpec
from tokensmith.concurrency import SingleFlight
from tokensmith.entra.hosts import AliasGroup
from tokensmith.protocol.effects import Flow, shared

if TYPE_CHECKING:
    from tokensmith.protocol.wstrust.mex import Endpoint

__all__ = [
    "DEFAULT_TTL",
    "Codec",
    "MetadataMemo",
    "TtlMemo",
    "alias_memo",
    "clear",
    "memoized",
    "metadata_key",
    "metadata_memo",
    "mex_memo",
]

V = TypeVar("V")

DEFAULT_TTL = 24 * 3600.0
"""Seconds a discovery result stays valid."""


class TtlMemo(Generic[V]):
    """Remembers values by key for ``ttl`` seconds of the injected ``clock``.

    Attributes:
        flights: the single flight that :func:`memoized` resolves missing keys under.
    """

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Clock = system_clock) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()  # never held across a yield or an await
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self.flights = SingleFlight()

    def get(self, key: Hashable) -> V | None:
        """Return the fresh value for ``key``, or ``None``."""
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry is not None and self._clock() < entry[0] else None

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value`` for ``key`` (for example, metadata given by the developer)."""
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, value)

    def expiry(self) -> float:
        """When a value stored now expires (epoch seconds of the memo's clock)."""
        return self._clock() + self._ttl

    def now(self) -> float:
        """The memo's clock."""
        return self._clock()

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class Codec(Generic[V]):  # not a dataclass: see "Import cost" in docs/architecture.md
    """How memo values are written to an ``http_cache`` and read back.

    Attributes:
        kind: names the values in the mapping's keys (``"discovery"``...).
        encode: a value as plain picklable data (str, numbers, None, tuples, dicts).
        decode: that data back, or ``None`` when it is not what ``encode`` writes.
    """

    __slots__ = ("decode", "encode", "kind")

    def __init__(
        self, kind: str, encode: Callable[[V], object], decode: Callable[[object], V | None]
    ) -> None:
        self.kind = kind
        self.encode = encode
        self.decode = decode

    def __repr__(self) -> str:
        return f"Codec({self.kind!r})"


Persisted = tuple[HttpCache, Codec[V]]


def memoized(
    memo: TtlMemo[V],
    key: Hashable,
    resolve: Callable[[], Flow[V]],
    persisted: Persisted[V] | None = None,
) -> Flow[V]:
    """The fresh value of ``key``, or the result of ``resolve()`` (run once for all
    concurrent flows asking for ``key``, then remembered, in ``persisted`` too).

    Raises:
        Exception: whatever ``resolve()`` raised; nothing is remembered then.
    """
    found = memo.get(key)
    if found is not None:
        return found
    if persisted is not None and (found := _load(memo, key, persisted)) is not None:
        return found
    return (yield from shared(memo.flights, key, lambda: _fill(memo, key, resolve, persisted)))


def _load(memo: TtlMemo[V], key: Hashable, persisted: Persisted[V]) -> V | None:
    http_cache, codec = persisted
    plain = http_cache.get(HttpCache.key(codec.kind, key), memo.now())
    if plain is None:
        return None
    try:
        found = codec.decode(plain)
    except Exception as exc:  # a value of another version: a miss, never a failure
        logger.info("http_cache: unreadable %s entry (%s)", codec.kind, type(exc).__name__)
        found = None
    if found is not None:
        memo.put(key, found)
    return found


def _fill(
    memo: TtlMemo[V],
    key: Hashable,
    resolve: Callable[[], Flow[V]],
    persisted: Persisted[V] | None,
) -> Flow[V]:
    found = memo.get(key)  # another flow may have filled it before this one led
    if found is None:
        found = yield from resolve()
        memo.put(key, found)
        if persisted is not None and found is not None:
            http_cache, codec = persisted
            key_name, plain = HttpCache.key(codec.kind, key), codec.encode(found)
            http_cache.put(key_name, plain, memo.expiry(), memo.now())
    return found


def metadata_key(spec: AuthoritySpec) -> Hashable:
    """The memo key of an authority: its discovery URL, and what shapes the result.

    Two specs share a key only when they would be discovered the same way: same
    discovery URL, same kind (issuer checks differ) and same instance validation.
    """
    validation = spec.instance_discovery_endpoint if spec.needs_instance_discovery else None
    return (spec.discovery_url, spec.kind, validation)


class MetadataMemo(TtlMemo[AuthorityMetadata]):
    """A memo of :class:`AuthorityMetadata` keyed by :func:`metadata_key`."""


metadata_memo = MetadataMemo()
"""Process-wide memo of :class:`AuthorityMetadata`."""

alias_memo: TtlMemo[tuple[AliasGroup, ...]] = TtlMemo()
"""Process-wide memo of alias groups, keyed by instance discovery host (or endpoint)."""

mex_memo: TtlMemo[Endpoint | None] = TtlMemo()
"""Process-wide memo of the WS-Trust endpoint a federation server's MEX document names,
keyed by the document's URL (MSAL keeps the document's GET 24 hours)."""


def clear() -> None:
    """Forget every process-wide discovery result (for tests)."""
    metadata_memo.clear()
    alias_memo.clear()
    mex_memo.clear()
