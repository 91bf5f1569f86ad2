"""What each partition brought into memory: for removals seen on a re-read, and for
bounded memory (partitions evicted least recently used first).

The persistent cache reads whole partitions, so it forgets whole partitions: when the
entries held in memory pass ``max_entries``, the least recently used partitions are
dropped from memory, down to 90% of the bound (never from the store; the next
lookup that needs one reads it again). Expired access tokens are swept first (see
:meth:`~tokensmith.cache.token_cache.TokenCache.sweep_expired`), so a long-running
service keeps its working set and never grows with the number of users it has seen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

__all__ = ["PartitionLru"]


class PartitionLru:
    """Which entries each partition brought into memory, in least-recent-use order."""

    def __init__(self, max_entries: int | None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._members: OrderedDict[str, set[tuple[str, str]]] = OrderedDict()
        self.size = 0

    def touch(self, partition: str) -> None:
        """Mark ``partition`` as just used."""
        if partition in self._members:
            self._members.move_to_end(partition)

    def add(self, partition: str, entries: Iterable[tuple[str, str]]) -> None:
        """Record ``(credential_type, key)`` entries held in memory for ``partition``."""
        members = self._members.get(partition)
        if members is None:
            members = self._members[partition] = set()
        self._members.move_to_end(partition)
        before = len(members)
        members.update(entries)
        self.size += len(members) - before

    def replace(self, partition: str, entries: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """``partition`` now holds exactly ``entries`` (it was read again); returns the
        entries memory held for it that the store no longer has (removed elsewhere)."""
        fresh = set(entries)
        old = self._members.pop(partition, set())
        self._members[partition] = fresh
        self.size += len(fresh) - len(old)
        return old - fresh

    def discard(self, partition: str, entry: tuple[str, str]) -> None:
        """Forget one entry (it was removed from the cache)."""
        members = self._members.get(partition)
        if members is not None and entry in members:
            members.remove(entry)
            self.size -= 1

    def over(self) -> bool:
        """True when memory holds more entries than the bound."""
        return self.max_entries is not None and self.size > self.max_entries

    def evict(self) -> Iterator[tuple[str, set[tuple[str, str]]]]:
        """Yield ``(partition, entries)`` to drop, least recently used first, until at
        most 90% of the bound is left (so a full cache does not evict, and sweep its
        expired tokens, on every write); the most recent partition is always kept."""
        if self.max_entries is None:
            return
        limit = self.max_entries - self.max_entries // 10
        while self.size > limit and len(self._members) > 1:
            partition, members = self._members.popitem(last=False)
            self.size -= len(members)
            yield partition, members
