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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.schema import CredentialType
from tokensmith.errors import ConfigurationError

if TYPE_CHECKING:
    from tokensmith.cache.token_cache import TokenCache

__all__ = ["Entry", "PartitionLru", "Partitioner", "forget", "shrink"]

Partitioner = Callable[[str, Mapping[str, Any]], "str | None"]
"""``(credential_type, entry) -> partition`` (None: not counted)."""

_AT = CredentialType.ACCESS_TOKEN
Entry = tuple[str, str]
"""``(credential_type, key)``."""


class PartitionLru:
    """Which entries each partition brought into memory, in least-recent-use order.

    Raises:
        ConfigurationError: ``max_entries`` is neither None nor a positive integer (a
            bool, a float, NaN: NaN compares false with every size, so it bounded
            nothing).
    """

    def __init__(self, max_entries: int | None) -> None:
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise ConfigurationError("max_entries must be a positive integer")
        self.max_entries = max_entries
        self._members: OrderedDict[str, set[Entry]] = OrderedDict()
        self._owner: dict[Entry, str] = {}
        """The one partition each recorded entry is in: an entry moves when a write
        files its key elsewhere (an on-behalf-of token's key does not hold the
        assertion, so a new assertion for the same user writes the same keys)."""
        self._pins: dict[str, int] = {}

    @property
    def size(self) -> int:
        """How many entries are recorded (each in one partition)."""
        return len(self._owner)

    def pin(self, partition: str) -> None:
        """Keep ``partition`` from eviction until :meth:`unpin` (a reader is between
        reading it and looking in it; several threads may be)."""
        self._pins[partition] = self._pins.get(partition, 0) + 1

    def unpin(self, partition: str) -> None:
        """Undo one :meth:`pin`."""
        left = self._pins.get(partition, 0) - 1
        if left > 0:
            self._pins[partition] = left
        else:
            self._pins.pop(partition, None)

    def clear(self) -> None:
        """Forget every partition (memory was replaced); pins stay."""
        self._members.clear()
        self._owner.clear()

    def members(self, partition: str) -> set[Entry]:
        """The entries memory holds for ``partition`` (a copy)."""
        return set(self._members.get(partition, ()))

    def _file(self, partition: str, members: set[Entry], entry: Entry) -> None:
        """Record ``entry`` in ``partition`` (``members``), out of any other one."""
        owner = self._owner.get(entry)
        if owner == partition:
            return
        if owner is not None:
            self._members[owner].discard(entry)
        self._owner[entry] = partition
        members.add(entry)

    def count(self, partition: str, entry: Entry) -> None:
        """Record one entry loaded in bulk without making ``partition`` recently used
        (a partition new to the record comes in as the least recently used)."""
        members = self._members.get(partition)
        if members is None:
            members = self._members[partition] = set()
            self._members.move_to_end(partition, last=False)
        self._file(partition, members, entry)

    def touch(self, partition: str) -> None:
        """Mark ``partition`` as just used."""
        if partition in self._members:
            self._members.move_to_end(partition)

    def add(self, partition: str, entries: Iterable[Entry]) -> None:
        """Record ``(credential_type, key)`` entries held in memory for ``partition``."""
        members = self._members.get(partition)
        if members is None:
            members = self._members[partition] = set()
        self._members.move_to_end(partition)
        for entry in entries:
            self._file(partition, members, entry)

    def replace(self, partition: str, entries: Iterable[Entry]) -> set[Entry]:
        """``partition`` now holds exactly ``entries`` (it was read again); returns the
        entries memory held for it that the store no longer has (removed elsewhere;
        an entry written into another partition since is no longer held for this one)."""
        fresh = set(entries)
        old = self._members.pop(partition, set())
        for entry in old:
            del self._owner[entry]
        members = self._members[partition] = set()
        for entry in fresh:
            self._file(partition, members, entry)
        return old - fresh

    def keep_only(self, present: Collection[Entry]) -> set[Entry]:
        """Forget every recorded entry not in ``present`` (a read of the whole store
        lacks it: removed elsewhere); returns those entries."""
        gone = {entry for entry in self._owner if entry not in present}
        for entry in gone:
            self._members[self._owner.pop(entry)].discard(entry)
        return gone

    def discard(self, partition: str, entry: Entry) -> None:
        """Forget one entry (it was removed from the cache), wherever it is recorded
        (``partition``: where the removed entry's fields file it)."""
        owner = self._owner.pop(entry, None)
        if owner is not None:
            self._members[owner].discard(entry)

    def over(self) -> bool:
        """True when memory holds more entries than the bound, or the record more
        partitions (empty ones: read for a lookup that missed, or emptied by removals,
        one per user or tenant seen)."""
        bound = self.max_entries
        return bound is not None and (self.size > bound or len(self._members) > bound)

    def evict(self) -> Iterator[tuple[str, set[Entry]]]:
        """Yield ``(partition, entries)`` to drop, least recently used first, until at
        most 90% of the bound is left (so a full cache does not evict, and sweep its
        expired tokens, on every write); the most recent partition is always kept, and
        so is a pinned one (it becomes the most recent: it is in use). Past 90% of the
        bound in partitions, the empty ones go first (they cost nothing to read again)."""
        if self.max_entries is None:
            return
        limit = self.max_entries - self.max_entries // 10
        if len(self._members) > limit:
            latest = next(reversed(self._members))
            empty = [
                name
                for name, members in self._members.items()
                if not members and name not in self._pins and name != latest
            ]
            for name in empty:
                del self._members[name]
                yield name, set()
        pinned = 0
        while self.size > limit and len(self._members) - pinned > 1:
            partition, members = self._members.popitem(last=False)
            if partition in self._pins:
                self._members[partition] = members
                pinned += 1
                continue
            for entry in members:
                del self._owner[entry]
            yield partition, members

    def note(self, changes: Sequence[Change], partition: Partitioner) -> None:
        """Count a batch of writes: a put adds its entry to its partition, a removal
        takes it out (entries whose partition is None are not counted)."""
        for change in changes:
            name = partition(change.credential_type, change.entry)
            if name is None:
                continue
            entry = (change.credential_type, change.key)
            if isinstance(change, EntryPut):
                self.add(name, [entry])
            else:
                self.discard(name, entry)


def shrink(cache: TokenCache, lru: PartitionLru, partition: Partitioner) -> dict[str, int]:
    """Keep ``cache``'s memory under ``lru``'s bound: once over it, its expired access
    tokens go first, then the least recently used partitions (:meth:`PartitionLru.evict`),
    forgotten from memory only (``_forget`` emits nothing). Returns each evicted
    partition with the number of entries it held (0: an empty record dropped). Call
    with the cache lock held."""
    if not lru.over():
        return {}
    expired = cache.expired_access_tokens()
    if expired:
        forget(cache, [(_AT, key) for key, _ in expired])
        for key, entry in expired:
            name = partition(_AT, entry)
            if name is not None:
                lru.discard(name, (_AT, key))
    evicted: dict[str, int] = {}
    gone: list[Entry] = []
    for name, members in lru.evict():
        evicted[name] = len(members)
        gone.extend(members)
    if gone:
        forget(cache, gone)
    return evicted


def forget(cache: TokenCache, entries: Sequence[Entry]) -> None:
    """Drop ``entries`` from ``cache``'s memory only (``_forget``: nothing reaches a
    store), and from its record of entries its lookups have checked, which holds each
    entry it names (up to 200,000: far more than a bound keeps in memory). Call with
    the cache lock held."""
    vetted = cache._vetted
    if vetted:
        for credential_type, key in entries:
            entry = cache._section(credential_type).get(key)
            if entry is not None and vetted.get(id(entry)) is entry:
                del vetted[id(entry)]
    cache._forget(entries)
