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

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any

from tokensmith.cache.schema import SECTIONS, CredentialType

__all__ = ["CacheIndex", "MultiIndex", "ScopeGroup", "norm", "norm_env", "scope_tokens"]

_EMPTY: frozenset[str] = frozenset()


def norm(value: object) -> Hashable:
    """Bucket form of a field value: ``None`` -> ``""``; non-scalars -> their repr."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value
    return repr(value)


def norm_env(value: object) -> Hashable:
    """Bucket form of an ``environment`` (hosts compare case-insensitively)."""
    normalized = norm(value)
    return normalized.lower() if isinstance(normalized, str) else normalized


def norm_lower(value: object) -> Hashable:
    """Bucket form of a case-insensitive field (username)."""
    return norm_env(value)


def scope_tokens(target: object) -> frozenset[str]:
    """The lower-cased scopes of a space-joined ``target`` (non-strings: none)."""
    return frozenset(target.lower().split()) if isinstance(target, str) else _EMPTY


class MultiIndex:
    """A map from a bucket value to the set of storage keys in that bucket."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[Hashable, set[str]] = {}

    def add(self, value: Hashable, key: str) -> None:
        """Put ``key`` in bucket ``value``."""
        self._buckets.setdefault(value, set()).add(key)

    def discard(self, value: Hashable, key: str) -> None:
        """Take ``key`` out of bucket ``value``; drop the bucket when empty."""
        bucket = self._buckets.get(value)
        if bucket is not None:
            bucket.discard(key)
            if not bucket:
                del self._buckets[value]

    def get(self, value: Hashable) -> Collection[str]:
        """Keys in bucket ``value`` (a live view: copy before writing to the cache)."""
        return self._buckets.get(value, _EMPTY)

    def __len__(self) -> int:
        return len(self._buckets)


class ScopeGroup:
    """AccessTokens of one (account, environment, client, realm, ext key) group."""

    __slots__ = ("keys", "postings")

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.postings: dict[str, set[str]] = {}

    def add(self, key: str, tokens: frozenset[str]) -> None:
        """Index ``key`` under each of its scopes."""
        self.keys.add(key)
        for token in tokens:
            self.postings.setdefault(token, set()).add(key)

    def discard(self, key: str, tokens: frozenset[str]) -> None:
        """Forget ``key``; empty posting lists are dropped."""
        self.keys.discard(key)
        for token in tokens:
            posting = self.postings.get(token)
            if posting is not None:
                posting.discard(key)
                if not posting:
                    del self.postings[token]

    def supersets(self, scopes: frozenset[str]) -> tuple[list[str], int]:
        """Keys whose scopes include all of ``scopes`` (lower-cased), and the work done.

        Cost: the size of the smallest posting list among ``scopes`` times
        ``len(scopes)``; with no scopes, every key of the group.
        """
        if not scopes:
            return list(self.keys), len(self.keys)
        lists = []
        for scope in scopes:
            posting = self.postings.get(scope)
            if not posting:
                return [], 0
            lists.append(posting)
        lists.sort(key=len)
        smallest, others = lists[0], lists[1:]
        return [k for k in smallest if all(k in other for other in others)], len(smallest)


_Entry = Mapping[str, Any]
_Buckets = list[tuple[MultiIndex, Hashable]]


def _account_of(entry: _Entry) -> tuple[Hashable, Hashable]:
    return norm(entry.get("home_account_id")), norm_env(entry.get("environment"))


def at_group_key(
    home_account_id: object, environment: object, client_id: object, realm: object, ext: object
) -> tuple[Hashable, ...]:
    """The scope-group key of an AccessToken (same normalization for entries and queries)."""
    return (norm(home_account_id), norm_env(environment), norm(client_id), norm(realm), norm(ext))


class CacheIndex:
    """All secondary indexes of one cache, plus insertion ordinals of every key.

    Attributes:
        examined: running count of index postings and entries looked at by lookups;
            a diagnostic that tests use to prove lookups do not scan.
    """

    def __init__(self) -> None:
        self.at_groups: dict[tuple[Hashable, ...], ScopeGroup] = {}
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
        self._buckets: dict[str, dict[str, _Buckets]] = {name: {} for name in SECTIONS}
        self._at_scopes: dict[str, tuple[tuple[Hashable, ...], frozenset[str]]] = {}
        self._cache_ref: dict[str, Any] | None = None
        self._seen: dict[str, tuple[object, int]] = {}
        self._bucketers: dict[str, Callable[[_Entry], _Buckets]] = {
            CredentialType.ACCESS_TOKEN: self._at_buckets,
            CredentialType.REFRESH_TOKEN: self._rt_buckets,
            CredentialType.ID_TOKEN: self._idt_buckets,
            CredentialType.ACCOUNT: self._account_buckets,
            CredentialType.APP_METADATA: self._app_buckets,
        }

    # -- maintenance -------------------------------------------------------------

    def is_current(self, cache: dict[str, Any]) -> bool:
        """True if the index still describes ``cache`` (an O(1) check)."""
        if cache is not self._cache_ref:
            return False
        for name in SECTIONS:
            section = cache.get(name)
            seen = self._seen.get(name)
            if seen is None:
                if section is not None:
                    return False
            elif section is not seen[0] or (isinstance(section, dict) and len(section) != seen[1]):
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
        for name in SECTIONS:
            section = cache.get(name)
            if section is None:
                continue
            if isinstance(section, dict):
                for key in section:
                    index.put(cache, name, key)
            index._note(cache, name)
        return index

    def put(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """(Re)index ``key`` after it was written in ``cache[section_name]``."""
        if section_name not in self._buckets:
            return
        self._unindex(section_name, key)
        section = cache.get(section_name)
        entry = section.get(key) if isinstance(section, dict) else None
        ordinals = self.ordinals[section_name]
        if key not in ordinals:
            ordinals[key] = self._next_ordinal
            self._next_ordinal += 1
        if isinstance(entry, dict):
            buckets = self._bucketers[section_name](entry)
            for index, value in buckets:
                index.add(value, key)
            self._buckets[section_name][key] = buckets
            if section_name == CredentialType.ACCESS_TOKEN:
                self._index_scopes(key, entry)
        self._note(cache, section_name)

    def drop(self, cache: dict[str, Any], section_name: str, key: str) -> None:
        """Unindex ``key`` after it was removed from ``cache[section_name]``."""
        if section_name not in self._buckets:
            return
        self._unindex(section_name, key)
        self.ordinals[section_name].pop(key, None)
        self._note(cache, section_name)

    def _note(self, cache: dict[str, Any], section_name: str) -> None:
        self._cache_ref = cache
        section = cache.get(section_name)
        if section is None:
            self._seen.pop(section_name, None)
        else:
            self._seen[section_name] = (section, len(section) if isinstance(section, dict) else 0)

    def _unindex(self, section_name: str, key: str) -> None:
        for index, value in self._buckets[section_name].pop(key, ()):
            index.discard(value, key)
        if section_name == CredentialType.ACCESS_TOKEN and key in self._at_scopes:
            group_key, tokens = self._at_scopes.pop(key)
            group = self.at_groups[group_key]
            group.discard(key, tokens)
            if not group.keys:
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
            group = self.at_groups[group_key] = ScopeGroup()
        group.add(key, tokens)
        self._at_scopes[key] = (group_key, tokens)

    # -- buckets per section -------------------------------------------------------

    def _at_buckets(self, entry: _Entry) -> _Buckets:
        hid, env = _account_of(entry)
        buckets: _Buckets = [
            (self.at_by_account, (hid, env)),
            (self.at_by_app, (hid, env, norm(entry.get("client_id")))),
        ]
        if entry.get("user_assertion_hash"):
            buckets.append((self.at_by_uah, norm(entry["user_assertion_hash"])))
        return buckets

    def _rt_buckets(self, entry: _Entry) -> _Buckets:
        hid, env = _account_of(entry)
        buckets: _Buckets = [
            (self.rt_by_account, (hid, env)),
            (self.rt_by_family, (hid, env, norm(entry.get("family_id")))),
        ]
        if entry.get("user_assertion_hash"):
            buckets.append((self.rt_by_uah, norm(entry["user_assertion_hash"])))
        return buckets

    def _idt_buckets(self, entry: _Entry) -> _Buckets:
        hid, env = _account_of(entry)
        full = (hid, env, norm(entry.get("realm")), norm(entry.get("client_id")))
        return [(self.idt_by_account, (hid, env)), (self.idt_by_client, full)]

    def _account_buckets(self, entry: _Entry) -> _Buckets:
        hid, env = _account_of(entry)
        user = norm_lower(entry.get("username"))
        return [
            (self.acct_by_hid, hid),
            (self.acct_by_env, env),
            (self.acct_by_env_user, (env, user)),
            (self.acct_by_user, user),
        ]

    def _app_buckets(self, entry: _Entry) -> _Buckets:
        value = (norm_env(entry.get("environment")), norm(entry.get("client_id")))
        return [(self.app_by_client, value)]

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
        keys, work = group.supersets(scopes)
        self.examined += work
        return keys

    def lookup(self, index: MultiIndex, value: Hashable) -> list[str]:
        """Keys of one bucket, copied, counted in :attr:`examined`."""
        keys = list(index.get(value))
        self.examined += len(keys)
        return keys
