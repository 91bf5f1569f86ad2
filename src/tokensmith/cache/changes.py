"""The store seam: typed write events a cache hands to its store.

Every write and removal goes through the one mutation hook (``modify``). When a store
is attached, ``modify`` records one :class:`EntryPut` or :class:`EntryDeleted` under
the cache lock; the outermost write call hands the batch to the store's
:meth:`ChangeSink.apply` *after* the lock is released, in the order the writes were
made (an emit lock, separate from the cache lock, keeps batches in order). So no I/O
ever runs under the cache lock, and lookups never wait for a disk or a network.

With no store attached the seam costs one attribute test per write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tokensmith._readonly import ReadOnly

__all__ = ["Change", "ChangeSink", "EntryDeleted", "EntryPut"]


class _Change(ReadOnly):
    """One write event: read-only, equal to another of the same kind and fields.
    (Not a dataclass: see "Import cost" in docs/architecture.md.)"""

    __slots__ = ("credential_type", "entry", "key")

    credential_type: str
    key: str
    entry: Mapping[str, Any]

    def __init__(self, credential_type: str, key: str, entry: Mapping[str, Any]) -> None:
        set_field = object.__setattr__
        set_field(self, "credential_type", credential_type)
        set_field(self, "key", key)
        set_field(self, "entry", entry)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Change)
        return (self.credential_type, self.key, self.entry) == (
            other.credential_type,
            other.key,
            other.entry,
        )

    __hash__ = None  # type: ignore[assignment]  # (its entry is a dict)

    def __repr__(self) -> str:  # the entry holds secrets: never shown
        return f"{type(self).__name__}({self.credential_type!r}, {self.key!r})"


class EntryPut(_Change):
    """An entry was stored (added or replaced) under ``key``."""

    __slots__ = ()


class EntryDeleted(_Change):
    """The entry under ``key`` was removed; ``entry`` is what was stored (or, when
    nothing was, the entry the caller named), so a store can find its partition."""

    __slots__ = ()


Change = EntryPut | EntryDeleted


class ChangeSink(Protocol):
    """What a cache needs from a store to persist its writes."""

    def apply(self, changes: Sequence[Change]) -> None:
        """Persist ``changes`` (in order). Called without the cache lock held.

        Raises:
            StoreError: the store could not persist them (the cache in memory keeps
                them; a store that must never fail a write logs instead).
        """
