"""Secondary indexes over the unified cache, so that no lookup scans the whole cache.

The index holds storage keys, never entries: every lookup re-reads the entry from the
cache dict and re-checks it, so an index can only be too wide, never wrong. It is
updated on each write or removal of one key (O(1) plus the entry's scope count) and
rebuilt from scratch after a deserialize, or when it notices the sections were
changed behind its back (a section object replaced, or its size changed).

Buckets (field values normalized by :func:`norm`; ``environment`` lower-cased):

* AccessToken: scope groups by ``(home_account_id, environment, client_id, realm,
  ext_cache_key)``, each with an inverted index ``scope (lower-cased) -> keys`` for
  superset queries (intersect starting from the smallest posting list); also by
  account ``(home_account_id, environment)``, by app ``(home_account_id,
  environment, client_id)`` and by ``user_assertion_hash``. ``token_type`` is not
  part of any bucket: like MSAL, lookups tell bound tokens apart by ``key_id`` only.
* RefreshToken: by account, by ``(home_account_id, environment, family_id)``, by
  ``user_assertion_hash``.
* IdToken: by account and by ``(home_account_id, environment, realm, client_id)``.
* Account: by ``home_account_id``, by ``environment``, by ``(environment,
  username)`` and by username (lower-cased).
* AppMetadata: by ``(environment, client_id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from tokensmith.cache.buckets import (
    MultiIndex,
    ScopeGroup,
    gc_paused,
    norm,
    norm_env,
    norm_lower,
    scope_tokens,
)
from tokensmith.cache.schema import SECTIONS, CredentialType

__all__ = ["CacheIndex", "at_group_key"]

_Entry = Mapping[str, Any]
_Values = tuple[Hashable | None, ...]
"""An entry's bucket value in each index of its section (``None``: not in that one)."""
_Single = tuple[str, tuple[str, ...]]
"""A scope group of one AccessToken: its key and its scopes (no container to track)."""


def _account_of(entry: _Entry) -> tuple[Hashable, Hashable]:
    hid = entry.get("home_account_id")
    env = entry.get("environment")
    return (
        hid if type(hid) is str else norm(hid),
        env.lower() if type(env) is str else norm_env(env),
    )


def at_group_key(
    home_account_id: object, environment: object, client_id: object, realm: object, ext: object
) -> tuple[Hashable, ...]:
    """The scope-group key of an AccessToken (same normalization for entries and queries)."""
    return (norm(home_account_id), norm_env(environment), norm(client_id), norm(realm), norm(ext))


def _optional(value: object) -> Hashable | None:
    return norm(value) if value else None


class CacheIndex:
    """All secondary indexes of one cache, plus insertion ordinals of every key.

    Per entry it remembers only plain tuples of strings (its bucket values, its scope
    group), which the garbage collector stops tracking, so a cache of 100,000 users
    does not make every collection traverse a million index containers.

    Attributes:
        examined: running count of index postings and entries looked at by lookups;
            a diagnostic that tests use to prove lookups do not scan.
    """

    def __init__(self) -> None:
        self.at_groups: dict[tuple[Hashable, ...], ScopeGroup | _Single] = {}
        self.at_by_account = MultiIndex()
        self.at_by_app = MultiIndex()
        self.at_by_uah = MultiIndex()
        self.rt_by_account = MultiIndex()
        self.rt_by_family = MultiIndex()
        self.rt_by_uah = MultiIndex()
        self.idt_by_account = MultiIndex()
        self.idt_by_client = MultiIndex()
        self.acct_by_hid = MultiIndex()
        self.acct_by_env = MultiIndex()
        self.acct_by_env_user = MultiIndex()
        self.acct_by_user = MultiIndex()
        self.app_by_client = MultiIndex()
        self.ordinals: dict[str, dict[str, int]] = {name: {} for name in SECTIONS}
        self.examined = 0
        self._next_ordinal = 0
        self._values: dict[str, dict[str, _Values]] = {name: {} for name in SECTIONS}
        self._at_group_of: dict[str, tuple[Hashable, ...]] = {}
        self._cache_ref: dict[str, Any] | None = None
        self._cache_len = 0
        self._seen: dict[str, tuple[Any, int]] = {}
        self._stale = False
        self._indexes: dict[str, tuple[MultiIndex, ...]] = {
            CredentialType.ACCESS_TOKEN: (self.at_by_account, self.at_by_app, self.at_by_uah),
            CredentialType.REFRESH_TOKEN: (self.rt_by_account, self.rt_by_family, self.rt_by_uah),
            CredentialType.ID_TOKEN: (self.idt_by_account, self.idt_by_client),
            CredentialType.ACCOUNT: (
                self.acct_by_hid,
                self.acct_by_env,
                self.acct_by_env_user,
                self.acct_by_user,
            ),
            CredentialType.APP_METADATA: (self.app_by_client,),
        }
        self._bucketers: dict[str, Callable[[_Entry], _Values]] = {
            CredentialType.ACCESS_TOKEN: _at_values,
            CredentialType.REFRESH_TOKEN: _rt_values,
            CredentialType.ID_TOKEN: _idt_values,
            CredentialType.ACCOUNT: _account_values,
            CredentialType.APP_METADATA: _app_values,
        }

    # -- maintenance -------------------------------------------------------------

    def is_current(self, cache: dict[str, Any]) -> bool:
        """True if the index still describes ``cache`` (an O(1) check).

        ``cache`` must be the dict last indexed, holding the same number of sections
        (so none appeared or vanished), each known section the same object with the
        same number of entries as when last seen.
        """
        if cache is not self._cache_ref or len(cache) != self._cache_len or self._stale:
            return False
        get = cache.get
        for name, (section, size) in self._seen.items():
            current = get(name)
            if current is not section or (size >= 0 and len(current) != size):
                return False
        return True

    @classmethod
    def build(cls, cache: dict[str, Any]) -> CacheIndex:
        """A new index of every dict entry of every known section of ``cache``.

        Non-dict sections and entries are remembered (so :meth:`is_current` holds)
        but not indexed.
        """
        index = cls()
        index._cache_ref = cache
        index._cache_len = len(cache)
        with gc_paused():  # a few objects per entry: no point collecting mid-build
            for name in SECTIONS:
                section = cache.get(name)
                if section is None:
                    continue
                if isinstance(section, dict):
                    index._bulk_put(name, section)
                index._note(cache, name)
        return index

    def _bulk_put(self, section_name: str, section: dict[str, Any]) -> None:
        """Index every entry of a section into an index that holds none of them yet."""
        ordinals = self.ordinals[section_name]
        start = self._next_ordinal
        ordinals.update(zip(section, range(start, start + len(section)), strict=True))
        self._next_ordinal = start + len(section)
        bucketer = self._bucketers[section_name]
        indexes = self._indexes[section_name]
        stored = self._values[section_name]
        is_at = section_name == CredentialType.ACCESS_TOKEN
        for key, entry in section.items():
            if not isinstance(entry, dict):
                continue
            values = bucketer(entry)
            for index, value in zip(indexes, values, strict=True):
                if value is not None:
                    index.add(value, key)
            stored[key] = values
            if is_at:
                self._index_scopes(key, entry)

    def _describes(self, cache: dict[str, Any]) -> bool:
        """False (and stale for good) when ``cache`` is not the dict this index was
        built for: its state was swapped (a reload inside a subclass's ``modify``)
        without a rebuild, so one write must not make the index look current."""
        if cache is not self._cache_ref:
            self._stale = True
        return not self._stale

    def put(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """(Re)index ``key`` after it was written in ``cache[section_name]``."""
        if section_name not in self._values or not self._describes(cache):
            return
        section = cache.get(section_name)
        entry = section.get(key) if isinstance(section, dict) else None
        if (
            isinstance(entry, dict)
            and section_name != CredentialType.ACCESS_TOKEN
            and self._values[section_name].get(key) == self._bucketers[section_name](entry)
        ):  # rewritten in place (a rotated refresh token, a new id token): same buckets
            self._note(cache, section_name)
            return
        self._unindex(section_name, key)
        ordinals = self.ordinals[section_name]
        if key not in ordinals:
            ordinals[key] = self._next_ordinal
            self._next_ordinal += 1
        if isinstance(entry, dict):
            values = self._bucketers[section_name](entry)
            for index, value in zip(self._indexes[section_name], values, strict=True):
                if value is not None:
                    index.add(value, key)
            self._values[section_name][key] = values
            if section_name == CredentialType.ACCESS_TOKEN:
                self._index_scopes(key, entry)
        self._note(cache, section_name)

    def drop(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """Unindex ``key`` after it was removed from ``cache[section_name]``."""
        if section_name not in self._values or not self._describes(cache):
            return
        self._unindex(section_name, key)
        self.ordinals[section_name].pop(key, None)
        self._note(cache, section_name)

    def _note(self, cache: dict[str, Any], section_name: str) -> None:
        self._cache_ref = cache
        self._cache_len = len(cache)
        section = cache.get(section_name)
        if section is None:
            self._seen.pop(section_name, None)
        else:
            self._seen[section_name] = (section, len(section) if isinstance(section, dict) else -1)

    def _unindex(self, section_name: str, key: str) -> None:
        values = self._values[section_name].pop(key, None)
        if values is not None:
            for index, value in zip(self._indexes[section_name], values, strict=True):
                if value is not None:
                    index.discard(value, key)
        if section_name == CredentialType.ACCESS_TOKEN:
            group_key = self._at_group_of.pop(key, None)
            if group_key is None:
                return
            group = self.at_groups[group_key]
            if isinstance(group, ScopeGroup):
                group.discard(key)
                if not group.members:
                    del self.at_groups[group_key]
            elif group[0] == key:
                del self.at_groups[group_key]

    def _index_scopes(self, key: str, entry: _Entry) -> None:
        group_key = at_group_key(
            entry.get("home_account_id"),
            entry.get("environment"),
            entry.get("client_id"),
            entry.get("realm"),
            entry.get("ext_cache_key"),
        )
        tokens = scope_tokens(entry.get("target"))
        group = self.at_groups.get(group_key)
        if group is None:
            self.at_groups[group_key] = (key, tokens)
        elif isinstance(group, ScopeGroup):
            group.add(key, tokens)
        else:
            grown = self.at_groups[group_key] = ScopeGroup()
            grown.add(*group)
            grown.add(key, tokens)
        self._at_group_of[key] = group_key

    # -- reading -------------------------------------------------------------------

    def in_order(self, section_name: str, keys: Iterable[str]) -> list[str]:
        """``keys`` sorted in the cache's insertion order (how MSAL's scan yields)."""
        ordinals = self.ordinals[section_name]
        return sorted(keys, key=lambda k: ordinals.get(k, -1))

    def at_supersets(self, group_key: tuple[Hashable, ...], scopes: frozenset[str]) -> list[str]:
        """AccessToken keys of one scope group whose scopes include ``scopes``."""
        group = self.at_groups.get(group_key)
        if group is None:
            return []
        if isinstance(group, ScopeGroup):
            keys, work = group.supersets(scopes)
        else:
            keys, work = ([group[0]] if scopes.issubset(group[1]) else []), 1
        self.examined += work
        return keys

    def lookup(self, index: MultiIndex, value: Hashable) -> list[str]:
        """Keys of one bucket, copied, counted in :attr:`examined`."""
        keys = list(index.get(value))
        self.examined += len(keys)
        return keys


# -- bucket values per section (aligned with CacheIndex._indexes) ---------------------


def _at_values(entry: _Entry) -> _Values:
    hid, env = _account_of(entry)
    return (
        (hid, env),
        (hid, env, norm(entry.get("client_id"))),
        _optional(entry.get("user_assertion_hash")),
    )


def _rt_values(entry: _Entry) -> _Values:
    hid, env = _account_of(entry)
    return (
        (hid, env),
        (hid, env, norm(entry.get("family_id"))),
        _optional(entry.get("user_assertion_hash")),
    )


def _idt_values(entry: _Entry) -> _Values:
    hid, env = _account_of(entry)
    return (hid, env), (hid, env, norm(entry.get("realm")), norm(entry.get("client_id")))


def _account_values(entry: _Entry) -> _Values:
    hid, env = _account_of(entry)
    user = norm_lower(entry.get("username"))
    return hid, env, (env, user), user


def _app_values(entry: _Entry) -> _Values:
    return ((norm_env(entry.get("environment")), norm(entry.get("client_id"))),)
