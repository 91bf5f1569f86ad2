"""The AccessToken scope groups of :class:`~tokensmith.cache.index.CacheIndex`: built
on first use from the section's columns and kept up to date on each write, as its
base class.

A group is keyed by :func:`~tokensmith.cache.bucket_values.at_group_key` (a user's
tokens by ``home_account_id``, app-only ones by environment, client and tenant). A group
of one token is its bare key (the lookup re-checks the scopes); a larger one is a
:class:`~tokensmith.cache.buckets.ScopeGroup`. The map from each key to its group is
made on the first write only: a process that only reads never pays for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from itertools import compress
from typing import Any

from tokensmith.cache.bucket_values import Columns, group_keys, one_group_key
from tokensmith.cache.buckets import ScopeGroup, gc_paused, scope_tokens
from tokensmith.cache.schema import CredentialType

__all__ = ["Listing", "ScopeGroups"]

_CT = CredentialType
_Entry = Mapping[str, Any]
Listing = tuple[list[str], list[dict[str, Any]], bool]
"""A section's keys and dict entries, listed once, and whether all are plain dicts."""


class ScopeGroups:
    """The scope groups of one cache's AccessTokens, built on first use.

    Attributes:
        examined: running count of index postings and entries looked at by lookups
            (see :class:`~tokensmith.cache.index.CacheIndex`).
    """

    def __init__(self) -> None:
        self.examined = 0
        self._groups: dict[Hashable, str | ScopeGroup] | None = None
        self._group_of: dict[str, Hashable] | None = {}
        self._group_pending: tuple[list[str], list[Hashable]] = ([], [])

    def _entries(self, name: str) -> Listing:
        """The keys and dict entries of section ``name`` (the index lists them)."""
        raise NotImplementedError

    def groups_built(self) -> bool:
        """True once the AccessToken scope groups exist."""
        return self._groups is not None

    @property
    def at_groups(self) -> dict[Hashable, str | ScopeGroup]:
        """AccessToken scope groups: a bare key, or a ScopeGroup of several."""
        if self._groups is None:
            return self._build_groups(None)
        return self._groups

    def _build_groups(self, columns: Columns | None) -> dict[Hashable, str | ScopeGroup]:
        keys, entries, plain = self._entries(_CT.ACCESS_TOKEN)
        with gc_paused():
            of = group_keys(columns or Columns(entries, plain))
            self._group_of, self._group_pending = None, (keys, of)  # (made on a write)
            groups: dict[Hashable, str | ScopeGroup]
            groups = dict(zip(of, keys, strict=True))
            if len(groups) < len(keys):
                shared = {g for g, n in Counter(of).items() if n > 1}
                rows = zip(keys, of, entries, strict=True)
                for key, group_key, entry in compress(rows, map(shared.__contains__, of)):
                    group = groups[group_key]
                    if type(group) is str:
                        group = groups[group_key] = ScopeGroup()
                    assert isinstance(group, ScopeGroup)
                    group.add(key, scope_tokens(entry.get("target")))
            self._groups = groups
        return groups

    def _group_keys(self) -> dict[str, Hashable]:
        """Each grouped key's group: made on the first write (a reader never needs it)."""
        group_of = self._group_of
        if group_of is None:
            group_of = self._group_of = dict(zip(*self._group_pending, strict=True))
            self._group_pending = ([], [])
        return group_of

    def _ungroup(self, key: str) -> None:
        assert self._groups is not None
        group_key = self._group_keys().pop(key, None)
        if group_key is None:
            return
        group = self._groups.get(group_key)
        if isinstance(group, ScopeGroup):
            group.discard(key)
            if not group.members:
                del self._groups[group_key]
        elif group == key:
            del self._groups[group_key]

    def _kept_in_group(self, key: str, entry: _Entry) -> bool:
        """True if ``key`` (rewritten as ``entry``) is filed under its group already (a
        key is in one group), its scopes brought up to date: the usual rewrite, a
        refresh, needs no map of every key's group (:meth:`_group_keys`)."""
        assert self._groups is not None
        group = self._groups.get(one_group_key(entry))
        if group == key:  # alone in its group: no scopes are kept for it
            return True
        if not (isinstance(group, ScopeGroup) and key in group.members):
            return False
        tokens = scope_tokens(entry.get("target"))
        if group.members[key] != tokens:
            group.discard(key)
            group.add(key, tokens)
        return True

    def _group(self, key: str, entry: _Entry, section: Any) -> None:
        assert self._groups is not None
        group_key = one_group_key(entry)
        tokens = scope_tokens(entry.get("target"))
        group = self._groups.get(group_key)
        if group is None:
            self._groups[group_key] = key
        elif isinstance(group, ScopeGroup):
            group.add(key, tokens)
        else:
            grown = self._groups[group_key] = ScopeGroup()
            other = section.get(group)
            grown.add(group, scope_tokens(other.get("target") if isinstance(other, dict) else None))
            grown.add(key, tokens)
        self._group_keys()[key] = group_key

    def at_supersets(self, group_key: Hashable, scopes: frozenset[str]) -> list[str]:
        """AccessToken keys of one scope group that may include ``scopes`` (a group of
        one is returned as it is: the caller re-checks every entry's scopes)."""
        group = self.at_groups.get(group_key)
        if group is None:
            return []
        if isinstance(group, ScopeGroup):
            keys, work = group.supersets(scopes)
        else:
            keys, work = [group], 1
        self.examined += work
        return keys
