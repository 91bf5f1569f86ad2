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
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Change", "ChangeSink", "EntryDeleted", "EntryPut"]


@dataclass(frozen=True, slots=True)
class EntryPut:
    """An entry was stored (added or replaced) under ``key``."""

    credential_type: str
    key: str
    entry: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EntryDeleted:
    """The entry under ``key`` was removed; ``entry`` is what was stored (or, when
    nothing was, the entry the caller named), so a store can find its partition."""

    credential_type: str
    key: str
    entry: Mapping[str, Any]


Change = EntryPut | EntryDeleted


class ChangeSink(Protocol):
    """What a cache needs from a store to persist its writes."""

    def apply(self, changes: Sequence[Change]) -> None:
        """Persist ``changes`` (in order). Called without the cache lock held.

        Raises:
            StoreError: the store could not persist them (the cache in memory keeps
                them; a store that must never fail a write logs instead).
        """
