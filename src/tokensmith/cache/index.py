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

import gc
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tokensmith.cache.schema import SECTIONS, CredentialType

__all__ = ["CacheIndex", "MultiIndex", "ScopeGroup", "norm", "norm_env", "scope_tokens"]

_EMPTY: frozenset[str] = frozenset()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend the cyclic garbage collector while a bulk load allocates many objects.

    Building the indexes of a large cache allocates hundreds of thousands of small
    containers; each allocation burst would otherwise trigger full collections that
    traverse the whole (large, acyclic) cache again and again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def norm(value: object) -> Hashable:
    """Bucket form of a field value: ``None`` -> ``""``; non-scalars -> their repr."""
    if type(value) is str:  # the usual case, first
        return value
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value
    return repr(value)


def norm_env(value: object) -> Hashable:
    """Bucket form of an ``environment`` (hosts compare case-insensitively)."""
    if type(value) is str:
        return value.lower()
    normalized = norm(value)
    return normalized.lower() if isinstance(normalized, str) else normalized


def norm_lower(value: object) -> Hashable:
    """Bucket form of a case-insensitive field (username)."""
    return norm_env(value)


def scope_tokens(target: object) -> tuple[str, ...]:
    """The distinct lower-cased scopes of a space-joined ``target`` (non-strings: none).

    A tuple of strings rather than a set: the garbage collector stops tracking it.
    """
    return tuple(dict.fromkeys(target.lower().split())) if isinstance(target, str) else ()


class MultiIndex:
    """A map from a bucket value to the storage keys in that bucket.

    A bucket of one key (the usual case: one token per account and client) holds the
    bare key string, not a one-element set, so that a large cache does not carry one
    container per entry per index for the garbage collector to traverse.
    """

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[Hashable, str | set[str]] = {}

    def add(self, value: Hashable, key: str) -> None:
        """Put ``key`` in bucket ``value``."""
        buckets = self._buckets
        bucket = buckets.get(value)
        if bucket is None:
            buckets[value] = key
        elif isinstance(bucket, str):
            if bucket != key:
                buckets[value] = {bucket, key}
        else:
            bucket.add(key)

    def discard(self, value: Hashable, key: str) -> None:
        """Take ``key`` out of bucket ``value``; drop the bucket when empty."""
        bucket = self._buckets.get(value)
        if bucket is None:
            return
        if isinstance(bucket, str):
            if bucket == key:
                del self._buckets[value]
            return
        bucket.discard(key)
        if len(bucket) == 1:
            self._buckets[value] = next(iter(bucket))
        elif not bucket:
            del self._buckets[value]

    def get(self, value: Hashable) -> Collection[str]:
        """Keys in bucket ``value`` (a live view: copy before writing to the cache)."""
        bucket = self._buckets.get(value, _EMPTY)
        return (bucket,) if type(bucket) is str else bucket

    def __len__(self) -> int:
        return len(self._buckets)


_POSTINGS_MIN = 16
"""Groups with at least this many AccessTokens get an inverted scope index."""


class ScopeGroup:
    """AccessTokens of one (account, environment, client, realm, ext key) group.

    Small groups (a user's few tokens) answer superset queries by testing each
    member's scopes; from :data:`_POSTINGS_MIN` members on (an app's tokens for many
    resources) the group keeps an inverted index ``scope -> keys`` and intersects
    starting from the smallest posting list.
    """

    __slots__ = ("members", "postings")

    def __init__(self) -> None:
        self.members: dict[str, tuple[str, ...]] = {}
        self.postings: dict[str, set[str]] | None = None

    def add(self, key: str, tokens: tuple[str, ...]) -> None:
        """Index ``key`` under each of its scopes."""
        self.members[key] = tokens
        postings = self.postings
        if postings is not None:
            for token in tokens:
                postings.setdefault(token, set()).add(key)
        elif len(self.members) >= _POSTINGS_MIN:
            postings = self.postings = {}
            for member, member_tokens in self.members.items():
                for token in member_tokens:
                    postings.setdefault(token, set()).add(member)

    def discard(self, key: str) -> None:
        """Forget ``key``; empty posting lists are dropped."""
        tokens = self.members.pop(key, ())
        postings = self.postings
        if postings is None:
            return
        for token in tokens:
            posting = postings.get(token)
            if posting is not None:
                posting.discard(key)
                if not posting:
                    del postings[token]

    def supersets(self, scopes: frozenset[str]) -> tuple[list[str], int]:
        """Keys whose scopes include all of ``scopes`` (lower-cased), and the work done.

        Cost: with postings, the size of the smallest posting list among ``scopes``
        times ``len(scopes)``; otherwise the (fewer than :data:`_POSTINGS_MIN`)
        members; with no scopes, every key of the group.
        """
        members = self.members
        if not scopes:
            return list(members), len(members)
        postings = self.postings
        if postings is None:
            found = [k for k, tokens in members.items() if scopes.issubset(tokens)]
            return found, len(members)
        lists = []
        for scope in scopes:
            posting = postings.get(scope)
            if not posting:
                return [], 0
            lists.append(posting)
        lists.sort(key=len)
        smallest, others = lists[0], lists[1:]
        return [k for k in smallest if all(k in other for other in others)], len(smallest)


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
        if cache is not self._cache_ref or len(cache) != self._cache_len:
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

    def put(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """(Re)index ``key`` after it was written in ``cache[section_name]``."""
        if section_name not in self._values:
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
        if section_name not in self._values:
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
