"""A token cache held in memory only, with a bound on its size, for long-running
services that see many users or many resources (MSAL's caches only grow).

``BoundedTokenCache(max_entries=N)`` is a :class:`~tokensmith.SerializableTokenCache`.
When a write takes it past ``N`` entries it shrinks to about 90% of ``N``: expired
access tokens go first, then whole partitions, least recently used first (the
partitions of :mod:`tokensmith.stores.partition`: one user's tokens, with the user's
Account entries here; one client's app-only tokens in one tenant; the tokens obtained
on behalf of one assertion). A cache hit marks its partition as used, and so does a
write; the partition just written is never evicted. Evicted entries are gone, as there
is no store behind this cache: the next call for that user, resource or assertion
goes to the network (or, for a public client, asks the user to sign in again).
AppMetadata entries and unknown sections are kept and not counted.

Shrinking to 90% (:meth:`~tokensmith.stores.bound.PartitionLru.evict`, the rule a
store-backed cache's bound follows too) rather than to ``N`` means the scan for expired
tokens runs once per ``N/10`` writes, not on every write of a full cache.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tokensmith._clock import Clock, system_clock
from tokensmith.cache import SerializableTokenCache
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.schema import CredentialType
from tokensmith.errors import ConfigurationError
from tokensmith.stores import partition as part
from tokensmith.stores.bound import PartitionLru, shrink

__all__ = ["BoundedTokenCache"]

_CT = CredentialType


class BoundedTokenCache(SerializableTokenCache):
    """A :class:`~tokensmith.SerializableTokenCache` that keeps at most about
    ``max_entries`` entries, evicting expired access tokens first, then the least
    recently used partitions (see the module documentation).

    Args:
        max_entries: the bound (access, refresh and ID tokens and Account entries).
        clock: epoch-seconds clock (it decides which access tokens are expired).

    Attributes:
        max_entries: the bound.
        evicted: partitions evicted so far (a counter for a service's metrics).

    Raises:
        ConfigurationError: ``max_entries`` is not a positive integer.
    """

    def __init__(self, max_entries: int, *, clock: Clock = system_clock) -> None:
        if max_entries is None:
            raise ConfigurationError("max_entries must be a positive integer")
        lru = PartitionLru(max_entries)  # checks it, before anything is made
        super().__init__(clock=clock)
        self.max_entries = max_entries
        self.evicted = 0
        self._lru = lru
        self._set_sink(_Bound(self))

    def find_access_token(
        self,
        *,
        home_account_id: str | None,
        environments: Sequence[str],
        client_id: str,
        realm: str,
        scopes: Collection[str],
        now: float,
        ext_cache_key: str | None = None,
        key_id: str | None = None,
        user_assertion_hash: str | None = None,
    ) -> dict[str, Any] | None:
        found = super().find_access_token(
            home_account_id=home_account_id,
            environments=environments,
            client_id=client_id,
            realm=realm,
            scopes=scopes,
            now=now,
            ext_cache_key=ext_cache_key,
            key_id=key_id,
            user_assertion_hash=user_assertion_hash,
        )
        if found is not None:
            name = part.partition_of(_CT.ACCESS_TOKEN, found)
            with self._lock:
                self._lru.touch(name)
        return found

    def _search_snapshot(
        self,
        credential_type: str,
        scopes: list[str],
        query: Mapping[str, Any] | None,
        now: float | None,
    ) -> list[dict[str, Any]]:
        """A ``search`` for one owner's access tokens is a hit too (a subclass that
        overrides ``search``, as msal-extensions' do, is read through it); a listing
        with no owner in the query marks nothing."""
        found = super()._search_snapshot(credential_type, scopes, query, now)
        if (
            found
            and credential_type == _CT.ACCESS_TOKEN
            and query is not None
            and ("home_account_id" in query or "user_assertion_hash" in query)
        ):
            with self._lock:
                for entry in found:
                    name = _partition(credential_type, entry)
                    if name is not None:
                        self._lru.touch(name)
        return found

    def _replace_state(self, cache: dict[str, Any]) -> None:
        """A loaded state (``deserialize``): count its entries, in the order they come
        (so the first ones are evicted first), then keep to the bound."""
        with self._lock:
            super()._replace_state(cache)
            self._lru = PartitionLru(self.max_entries)
            for credential_type in (_CT.ACCESS_TOKEN, _CT.REFRESH_TOKEN, _CT.ID_TOKEN, _CT.ACCOUNT):
                section = cache.get(credential_type)
                if not isinstance(section, dict):
                    continue
                for key, entry in section.items():
                    name = _partition(credential_type, entry)
                    if name is not None:
                        self._lru.add(name, [(credential_type, key)])
            self._shrink()

    def _note(self, changes: Sequence[Change]) -> None:
        """Count a batch of writes (the store seam hands it over after each write call)
        and keep to the bound: what it forgets is gone, so the state changed.

        A batch is counted after the lock that made it was released, so memory may
        have moved on meanwhile (a ``deserialize``, or a shrink's sweep of expired
        tokens, replaced or forgot what it wrote): each change is counted only if
        memory still shows it, a put only while memory holds the very entry it wrote,
        a removal only while memory holds nothing under its key, so the count stays
        what memory holds."""
        with self._lock:
            self._lru.note([c for c in changes if self._holds(c)], _partition)
            if self._lru.over():
                self._shrink()
                self.has_state_changed = True

    def _holds(self, change: Change) -> bool:
        """True if memory still shows ``change`` (call with the lock held)."""
        held = self._section(change.credential_type).get(change.key)
        return held is change.entry if isinstance(change, EntryPut) else held is None

    def _shrink(self) -> None:
        """Keep to the bound (call with the lock held); ``evicted`` counts the
        partitions that held entries, not the empty records dropped."""
        self.evicted += sum(1 for held in shrink(self, self._lru, _partition).values() if held)


class _Bound:
    """The sink of a bounded cache: it persists nothing, it counts. It holds the cache
    weakly (a strong reference would make a cycle, and a large cache would wait for
    the cyclic collector instead of going with its last reference)."""

    __slots__ = ("_cache",)

    def __init__(self, cache: BoundedTokenCache) -> None:
        self._cache = weakref.ref(cache)

    def apply(self, changes: Sequence[Change]) -> None:
        cache = self._cache()
        if cache is not None:
            cache._note(changes)


def _partition(credential_type: str, entry: Mapping[str, Any]) -> str | None:
    """The partition an entry is counted in (None: not counted, as a malformed entry
    a loaded state may hold is: it is kept verbatim and never returned). Account
    entries go with their user's tokens, so evicting a user forgets the account too;
    one with no home account id (written through ``modify``: nothing checks it) is a
    partition of its own, as its key is (environment and realm), so it is counted and
    evicted like any other."""
    if not isinstance(entry, Mapping):
        return None
    if credential_type == _CT.ACCOUNT:
        home = entry.get("home_account_id")
        if isinstance(home, str) and home:
            return part.user(home)
        return f"account:{entry.get('environment')}:{entry.get('realm')}"
    name = part.partition_of(credential_type, entry)
    return None if name == part.META or name.startswith("other:") else name
