"""Secondary indexes over the unified cache, so that no lookup scans the whole cache.

The index holds storage keys, never entries: every lookup re-reads the entry from the
cache dict and re-checks it, so an index can only be too wide, never wrong.

Each index is built lazily, on its first use, from the one section it covers (a few
C-level dict constructions plus one bucket value per entry), and from then on kept up
to date on each write or removal of one key. After a ``deserialize()`` nothing is
built: ``get_accounts(username=...)`` builds the username index only, a silent hit
the access tokens' scope groups only, a refresh the refresh tokens' account index
only. The whole index is dropped (and rebuilt lazily) when it notices the sections
were changed behind its back, by edits made directly on the cache dict
(:meth:`CacheIndex.is_current`): a section added, removed or replaced, a key added or
removed (any mix: a key added goes last in its section's order, so its size or newest
key tells, unless that newest entry was itself taken out and put back as it was), the
newest entry replaced. A value replaced directly under an
older key is not noticed (no O(1) check can see it): the entry keeps its old buckets,
so it is missed by lookups of its new field values (never answered for old ones: each
is re-checked) until the next rebuild; edits made through ``modify()`` are all seen.

Indexes (field values normalized by :func:`norm`; ``environment`` lower-cased; a
value of several fields is one joined string, see :func:`~tokensmith.cache.buckets.bucket`):

* AccessToken: scope groups by ``home_account_id`` for a user's tokens and by
  ``(environment, client_id, realm)`` for app-only ones (and ``ext_cache_key`` when
  there is one, see :func:`~tokensmith.cache.bucket_values.at_group_key`); a group of
  one token is its bare key
  (the lookup re-checks the scopes), a larger one a
  :class:`~tokensmith.cache.buckets.ScopeGroup` (an inverted ``scope -> keys`` index
  from 16 members on); also by ``home_account_id``, app-only tokens by ``(environment,
  client_id)``, and by ``user_assertion_hash``. ``token_type`` is not part of any
  bucket: like MSAL, lookups tell bound tokens apart by ``key_id`` only.
* RefreshToken: by ``home_account_id``, by ``user_assertion_hash``.
* IdToken: by ``home_account_id``.
* Account: by ``home_account_id``, by ``environment`` and by username (lower-cased).
* AppMetadata: by ``(environment, client_id)``.

A user has a few entries per section (one per client, realm, family or cloud), so
``home_account_id`` (or a username) alone narrows a lookup to those few; the lookup
re-checks the other fields, as it does for every index. Keeping the buckets to single
strings keeps a build to a few C-level passes per section (:meth:`CacheIndex.build_all`
builds them all at once for a fraction of the JSON parse) and leaves the garbage
collector little to traverse: a dict holding only strings is not tracked (buckets of
several keys, sets, and scope groups of several tokens are).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from tokensmith.cache._scope_groups import Listing as _Listing
from tokensmith.cache._scope_groups import ScopeGroups
from tokensmith.cache.bucket_values import (
    BY_SECTION,
    INDEXES,
    SPARSE,
    Columns,
    at_group_key,
    one,
)
from tokensmith.cache.buckets import MultiIndex, gc_paused
from tokensmith.cache.schema import SECTIONS, CredentialType

__all__ = ["SCANS", "CacheIndex", "at_group_key"]

SCANS = 4
"""Lookups of a user's access token that scan (comparing ``home_account_id`` only)
before the scope groups are built."""

_CT = CredentialType
_Seen = tuple[Any, int, object, object, Callable[[], Iterator[object]] | None]
"""A section as last indexed: the object, its size (-1: not a dict), its newest key,
that key's value, and its ``__reversed__`` (the last three None when it has no keys)."""


def _dict_entries(section: object) -> _Listing:
    if not isinstance(section, dict):
        return [], [], True
    if set(map(type, section.values())) <= {dict}:  # the usual section: no Python loop
        return list(section), list(section.values()), True
    keys = [k for k, e in section.items() if type(e) is dict or isinstance(e, dict)]
    entries = [section[k] for k in keys]
    return keys, entries, all(type(e) is dict for e in entries)


class _Ordinals:
    """Insertion positions per section (``ordinals[section][key]``), each section's
    built on first use from its dict order; new keys get the next number."""

    def __init__(self, index: CacheIndex) -> None:
        self._index = index
        self._built: dict[str, dict[str, int]] = {}

    def __contains__(self, name: object) -> bool:
        return name in SECTIONS

    def __getitem__(self, name: str) -> dict[str, int]:
        built = self._built.get(name)
        if built is None:
            built = self._built[name] = self._index.number(self._index.section(name))
        return built

    def built(self, name: str) -> dict[str, int] | None:
        return self._built.get(name)


class CacheIndex(ScopeGroups):
    """All secondary indexes of one cache, each built on first use.

    Per entry an index keeps only plain strings and tuples of strings, which the
    garbage collector stops tracking, so a cache of 100,000 users does not slow
    every collection.

    Attributes:
        examined: running count of index postings and entries looked at by lookups;
            a diagnostic that tests use to prove lookups do not scan.
        ordinals: ``ordinals[section][key]``, the key's insertion position.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ordinals = _Ordinals(self)
        self._next_ordinal = 0
        self._numbers: list[int] = []
        self._built: dict[str, MultiIndex] = {}
        self._cache_ref: dict[str, Any] | None = None
        self._cache_len = 0
        self._seen: dict[str, _Seen] = {}
        self._stale = False
        self._scans_left = SCANS
        self._listed: dict[str, _Listing] = {}

    def __getattr__(self, name: str) -> MultiIndex:
        """``index.acct_by_user`` and friends: built on first use."""
        spec = INDEXES.get(name)
        if spec is None:
            raise AttributeError(name)
        built = self._built.get(name)
        if built is None:
            built = self._build(name, None)
        return built

    def _build(self, name: str, columns: Columns | None) -> MultiIndex:
        section, values_of = INDEXES[name]
        keys, entries, plain = self._entries(section)
        with gc_paused():
            values = values_of(columns or Columns(entries, plain))
            built = self._built[name] = MultiIndex.bulk(keys, values, sparse=name in SPARSE)
        return built

    def build_all(self) -> None:
        """Build every index not built yet, reading each field of a section once."""
        with gc_paused():  # (nested pauses are no-ops: the collector runs once, after)
            self._build_all()

    def _build_all(self) -> None:
        for section, names in BY_SECTION.items():
            missing = [n for n in names if n not in self._built]
            grouping = section == _CT.ACCESS_TOKEN and self._groups is None
            if missing or grouping:
                columns = Columns(*self._entries(section)[1:])
                for name in missing:
                    self._build(name, columns)
                if grouping:
                    self._build_groups(columns)
            self.ordinals[section]  # (built on first use)

    def _entries(self, name: str) -> _Listing:
        """The keys and dict entries of a section, listed once until it is written."""
        listed = self._listed.get(name)
        if listed is None:
            listed = self._listed[name] = _dict_entries(self.section(name))
        return listed

    def section(self, name: str) -> Any:
        """The indexed cache's section ``name`` (None when absent)."""
        return None if self._cache_ref is None else self._cache_ref.get(name)

    def number(self, section: object) -> dict[str, int]:
        """``0, 1, ...`` for the keys of ``section`` in dict order, from one list of
        ints all sections share (numbers are compared within a section only); a key
        written later gets a number past every section's."""
        if not isinstance(section, dict):
            return {}
        size = len(section)
        numbers = self._numbers
        if len(numbers) < size:
            numbers.extend(range(len(numbers), size))
        self._next_ordinal = max(self._next_ordinal, size)
        return dict(zip(section, numbers, strict=False))  # (to the section's end)

    def built(self, name: str) -> bool:
        """True if the bucket index ``name`` exists already."""
        return name in self._built

    def take_scan(self) -> bool:
        """True (and one fewer left) while a lookup may scan instead of building the
        scope groups: :data:`SCANS` per index, so a short-lived process never builds
        them and a long-lived one soon does (a scan comparing one field costs about a
        tenth of the build)."""
        if self._scans_left <= 0:
            return False
        self._scans_left -= 1
        return True

    # -- maintenance -------------------------------------------------------------

    def is_current(self, cache: dict[str, Any], sections: tuple[str, ...] = ()) -> bool:
        """True if the index still describes ``cache`` for a lookup or a write in
        ``sections`` (none named: in any), an O(1) check.

        ``cache`` must be the dict last indexed, holding the same number of sections,
        and each section named the same object (or still absent) with the same number of
        entries, the same newest key and the same value under it as when last seen. A
        key added goes last in dict order, so keys added and others removed directly, in
        any mix, change the size or the newest key; a value replaced under an older key
        is not seen (see the module docstring). Only the sections a lookup reads need
        checking: a stale section is rebuilt (with all the others) by the first lookup
        or write that reads it, before its index is used.
        """
        if cache is not self._cache_ref or len(cache) != self._cache_len or self._stale:
            return False
        seen = self._seen
        for name in sections or seen:
            current = cache.get(name)
            known = seen.get(name)
            if known is None:
                # a section that appeared (another went); one the index does not cover
                # (a search of a section tokensmith does not model) is never seen
                if current is not None and name in SECTIONS:
                    return False
                continue
            section, size, newest, value, newest_first = known
            if current is not section or (size >= 0 and len(current) != size):
                return False
            if newest_first is not None:
                last = next(newest_first())
                if last is not newest or known[0][last] is not value:  # (section, unnarrowed)
                    return False
        return True

    @classmethod
    def build(cls, cache: dict[str, Any]) -> CacheIndex:
        """An index of ``cache`` that builds each of its parts on first use (O(1) now).

        Non-dict sections and entries are remembered (so :meth:`is_current` holds)
        but not indexed.
        """
        index = cls()
        index._cache_ref = cache
        index._cache_len = len(cache)
        for name in SECTIONS:
            if name in cache:
                index._note(cache, name)
        return index

    def _describes(self, cache: dict[str, Any]) -> bool:
        """False (and stale for good) when ``cache`` is not the dict this index was
        built for: its state was swapped (a reload inside a subclass's ``modify``)
        without a rebuild, so one write must not make the index look current."""
        if cache is not self._cache_ref:
            self._stale = True
        return not self._stale

    def put(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """(Re)index ``key`` after it was written in ``cache[section_name]``."""
        if section_name not in BY_SECTION or not self._describes(cache):
            return
        section = cache.get(section_name)
        entry = section.get(key) if isinstance(section, dict) else None
        ordinals = self.ordinals.built(section_name)
        if ordinals is not None and key not in ordinals:
            ordinals[key] = self._next_ordinal
            self._next_ordinal += 1
        for name in BY_SECTION[section_name]:
            built = self._built.get(name)
            if built is not None:
                built.put(key, one(name, entry) if isinstance(entry, dict) else None)
        grouped = section_name == _CT.ACCESS_TOKEN and self._groups is not None
        if grouped and not (isinstance(entry, dict) and self._kept_in_group(key, entry)):
            self._ungroup(key)
            if isinstance(entry, dict):
                self._group(key, entry, section)
        self._note(cache, section_name)

    def drop(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """Unindex ``key`` after it was removed from ``cache[section_name]``."""
        if section_name not in BY_SECTION or not self._describes(cache):
            return
        for name in BY_SECTION[section_name]:
            built = self._built.get(name)
            if built is not None:
                built.remove(key)
        if section_name == _CT.ACCESS_TOKEN and self._groups is not None:
            self._ungroup(key)
        ordinals = self.ordinals.built(section_name)
        if ordinals is not None:
            ordinals.pop(key, None)
        self._note(cache, section_name)

    def _note(self, cache: dict[str, Any], section_name: str) -> None:
        self._listed.pop(section_name, None)
        self._cache_ref = cache
        self._cache_len = len(cache)
        section = cache.get(section_name)
        if section is None:
            self._seen.pop(section_name, None)
        elif not isinstance(section, dict):
            self._seen[section_name] = (section, -1, None, None, None)
        elif not section:
            self._seen[section_name] = (section, 0, None, None, None)
        else:
            newest = next(reversed(section))
            seen = (section, len(section), newest, section[newest], section.__reversed__)
            self._seen[section_name] = seen

    # -- reading -------------------------------------------------------------------

    def in_order(self, section_name: str, keys: Iterable[str]) -> list[str]:
        """``keys`` in the cache's insertion order (how MSAL's scan yields)."""
        if isinstance(keys, list) and len(keys) < 2:  # the usual answer: one or none
            return keys
        ordinals = self.ordinals[section_name]
        wanted = keys if isinstance(keys, (set, frozenset)) else set(keys)
        if len(wanted) * 8 > len(ordinals):  # most of the section: walk it in order
            return [k for k in ordinals if k in wanted]
        return sorted(wanted, key=lambda k: ordinals.get(k, -1))

    def lookup(self, index: MultiIndex, value: Hashable) -> list[str]:
        """Keys of one bucket, copied, counted in :attr:`examined`."""
        keys = list(index.get(value))
        self.examined += len(keys)
        return keys
