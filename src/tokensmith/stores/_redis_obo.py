"""The on-behalf-of index of :class:`~tokensmith.stores.RedisStore`: which ``obo:``
hashes hold an account's tokens.

A token obtained on behalf of a user assertion is filed under the assertion's hash
(``obo:<user_assertion_hash>``), not under the account, and Redis cannot look up
entries by a field; so each write of such a token also adds its partition's name to the
set ``<prefix>obo-of:<SHA-256 of the home account id>`` (in the same MULTI/EXEC, with
the idle TTL, so the set outlives every hash it lists). A sign-out reads that set and
then the hashes it lists (:meth:`OboIndex.queue`, :func:`listed_partitions`). A member
whose hash no longer holds the account's tokens is harmless: the rows read are those
of the account only. The home account id is named by digest, never in clear. A Redis
user without set commands (ACL category ``@set``) gets no index (:class:`OboIndex`
gives it up, saying so once): a sign-out then removes the on-behalf-of tokens memory
holds only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith._redact import logger
from tokensmith.stores._redis_health import reply_of
from tokensmith.stores.partition import obo

__all__ = ["OBO_PARTITIONS", "OboIndex", "SetsRefused", "index_key", "listed_partitions"]

OBO_PARTITIONS = obo("")
"""The start of every on-behalf-of partition's name (what a member must start with)."""


def index_key(prefix: str, home_account_id: str) -> str:
    """The set listing the on-behalf-of partitions written for ``home_account_id``."""
    digest = hashlib.sha256(home_account_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}obo-of:{digest}"


class SetsRefused(Exception):
    """A write refused (whole) for the index's ``SADD``: sent again without it."""


class OboIndex:
    """Whether the index is kept (Redis lets this user run set commands), and its
    writes while it is."""

    def __init__(self) -> None:
        self.kept = True

    def queue(
        self, pipe: Any, prefix: str, written: Mapping[str, set[str]], idle_ttl: int
    ) -> list[str]:
        """Queue on ``pipe`` the index's updates for ``written`` (home account id -> the
        on-behalf-of partitions a batch put its tokens in): one ``SADD`` and one
        ``EXPIRE`` per account, nothing once Redis refused them; the key of each
        command."""
        keys: list[str] = []
        if not self.kept:
            return keys
        for home, partitions in written.items():
            key = index_key(prefix, home)
            pipe.sadd(key, *sorted(partitions))
            pipe.expire(key, idle_ttl)
            keys += [key, key]
        return keys

    def refused(self, exc: BaseException) -> bool:
        """Whether a transaction's ACL refusal ``exc`` was of the index's ``SADD``: if
        so the index is given up (said once) and the caller sends the write again
        without it."""
        if not (self.kept and "'sadd'" in reply_of(exc).lower()):
            return False
        self.kept = False
        logger.warning(
            "token store: Redis refuses set commands to this user (%s; ACL category "
            "@set): the on-behalf-of index is not kept, and a sign-out removes only the "
            "on-behalf-of tokens this process holds",
            type(exc).__name__,
        )
        return True


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
