"""The on-behalf-of index of :class:`~tokensmith.stores.RedisStore`: which ``obo:``
hashes hold an account's tokens.

A token obtained on behalf of a user assertion is filed under the assertion's hash
(``obo:<user_assertion_hash>``), not under the account, and Redis cannot look up
entries by a field; so each write of such a token also adds its partition's name to the
set ``<prefix>obo-of:<SHA-256 of the home account id>`` (in the same MULTI/EXEC, with
the idle TTL, so the set outlives every hash it lists). A sign-out reads that set and
then the hashes it lists (:func:`queue_index`, :func:`listed_partitions`). A member
whose hash no longer holds the account's tokens is harmless: the rows read are those
of the account only. The home account id is named by digest, never in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith.stores.partition import obo

__all__ = ["OBO_PARTITIONS", "index_key", "listed_partitions", "queue_index"]

OBO_PARTITIONS = obo("")
"""The start of every on-behalf-of partition's name (what a member must start with)."""


def index_key(prefix: str, home_account_id: str) -> str:
    """The set listing the on-behalf-of partitions written for ``home_account_id``."""
    digest = hashlib.sha256(home_account_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}obo-of:{digest}"


def queue_index(
    pipe: Any, prefix: str, written: Mapping[str, set[str]], idle_ttl: int
) -> list[str]:
    """Queue on ``pipe`` the index's updates for ``written`` (home account id -> the
    on-behalf-of partitions a batch put its tokens in): one ``SADD`` and one ``EXPIRE``
    per account; the key of each command."""
    keys: list[str] = []
    for home, partitions in written.items():
        key = index_key(prefix, home)
        pipe.sadd(key, *sorted(partitions))
        pipe.expire(key, idle_ttl)
        keys += [key, key]
    return keys


def listed_partitions(members: Iterable[object]) -> list[str]:
    """The on-behalf-of partitions a set's members name (a member that is not one, or
    not UTF-8, is skipped: no tokensmith store wrote it)."""
    partitions = []
    for member in members:
        try:
            name = member.decode() if isinstance(member, bytes) else str(member)
        except UnicodeDecodeError:
            continue
        if name.startswith(OBO_PARTITIONS):
            partitions.append(name)
    return sorted(partitions)
