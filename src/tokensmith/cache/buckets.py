"""The building blocks of the cache's secondary indexes: bucket normalization, the
multi-valued map from a bucket to storage keys, and the scope groups of access tokens.

Both containers hold plain strings where they can (a one-key bucket is the bare key, a
small scope group has no inverted index), so that a large cache does not give the
garbage collector a container per entry per index to traverse.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Collection, Hashable, Iterator
from contextlib import contextmanager
from itertools import compress

__all__ = [
    "SEPARATOR",
    "MultiIndex",
    "ScopeGroup",
    "bucket",
    "buckets_of",
    "gc_paused",
    "norm",
    "norm_env",
    "norm_lower",
    "scope_tokens",
]

_EMPTY: frozenset[str] = frozenset()
_NOWHERE: Hashable = object()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend the cyclic garbage collector while a bulk load allocates many objects.

    Building the indexes of a large cache allocates many small objects; each
    allocation burst would otherwise trigger collections that traverse the whole
    (large, acyclic) cache again and again.
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


SEPARATOR = "\x1f"
"""Joins the parts of a bucket value (ASCII unit separator)."""
_TEXT = frozenset({str})


def bucket(*parts: Hashable) -> Hashable:
    """The bucket value of several normalized field values: one string, the parts
    joined by :data:`SEPARATOR`, when all are strings (the usual case: a string is no
    container for the garbage collector to track, as a tuple would be), else the
    tuple. Parts holding the separator may join like other parts: the bucket is then
    wider, which an index allows (lookups re-check every entry)."""
    for part in parts:
        if type(part) is not str:
            return parts
    return SEPARATOR.join(parts)  # type: ignore[arg-type]  # (all are str)


def buckets_of(*columns: list[Hashable]) -> list[Hashable]:
    """:func:`bucket` of each row of ``columns``, joined at C speed when every value is
    a string."""
    rows = zip(*columns, strict=True)
    for column in columns:
        if not set(map(type, column)) <= _TEXT:
            return [bucket(*row) for row in rows]
    return list(map(SEPARATOR.join, rows))


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
    """A map from a bucket value to the storage keys in that bucket, and back.

    A bucket of one key (the usual case: one token per account and client) holds the
    bare key string, not a one-element set, so that a large cache does not carry one
    container per entry per index for the garbage collector to traverse. The reverse
    map (key -> its value) lets a write move a key without being told its old value.
    """

    __slots__ = ("_buckets", "_pending", "_value_of")

    def __init__(self) -> None:
        self._buckets: dict[Hashable, str | set[str]] = {}
        self._value_of: dict[str, Hashable] | None = {}
        self._pending: tuple[list[str], list[Hashable]] | None = None

    @classmethod
    def bulk(
        cls, keys: list[str], values: list[Hashable | None], *, sparse: bool = False
    ) -> MultiIndex:
        """An index of ``keys[i]`` under ``values[i]``, built with C-level dict
        construction; only values shared by several keys get a Python loop. With
        ``sparse``, a ``None`` value means "not indexed". The reverse map is made on
        the first write (a process that only reads never pays for it)."""
        index = cls()
        if sparse:
            if values.count(None) == len(values):
                return index
            pairs = [(k, v) for k, v in zip(keys, values, strict=True) if v is not None]
            keys, values = [k for k, _ in pairs], [v for _, v in pairs]
        buckets: dict[Hashable, str | set[str]]
        if len(keys) > 1 and values.count(values[0]) == len(keys):  # a cloud's accounts
            buckets = {values[0]: set(keys)}
        else:
            buckets = dict(zip(values, keys, strict=True))
            if len(buckets) < len(keys):  # some values are shared: sets for those
                shared = {v for v, n in Counter(values).items() if n > 1}
                rows = zip(keys, values, strict=True)
                for key, value in compress(rows, map(shared.__contains__, values)):
                    bucket = buckets[value]
                    if isinstance(bucket, str):
                        buckets[value] = {key}
                    else:
                        bucket.add(key)
        index._buckets = buckets
        index._value_of, index._pending = None, (keys, values)
        return index

    def _reverse(self) -> dict[str, Hashable]:
        value_of = self._value_of
        if value_of is None:
            assert self._pending is not None
            value_of = self._value_of = dict(zip(*self._pending, strict=True))
            self._pending = None
        return value_of

    def put(self, key: str, value: Hashable | None) -> None:
        """File ``key`` under ``value`` (``None``: nowhere), out of its former bucket."""
        if self._value_of is None and value is not None:  # no reverse map made yet
            bucket = self._buckets.get(value)
            if bucket == key or (type(bucket) is set and key in bucket):
                return  # a rewrite that keeps its bucket (a key has one): no map needed
        value_of = self._reverse()
        old = value_of.get(key, _NOWHERE)
        if old == value:
            return
        if old is not _NOWHERE:
            self._discard(old, key)
        if value is None:
            value_of.pop(key, None)
            return
        value_of[key] = value
        buckets = self._buckets
        bucket = buckets.get(value)
        if bucket is None:
            buckets[value] = key
        elif isinstance(bucket, str):
            if bucket != key:
                buckets[value] = {bucket, key}
        else:
            bucket.add(key)

    def remove(self, key: str) -> None:
        """Take ``key`` out of the index."""
        old = self._reverse().pop(key, _NOWHERE)
        if old is not _NOWHERE:
            self._discard(old, key)

    def _discard(self, value: Hashable, key: str) -> None:
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
