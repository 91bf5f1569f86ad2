"""Where :class:`~tokensmith.stores.RedisStore` keeps entries and how it encodes them:
the hash of a partition and the field of an entry, a value sealed to (and opened
from) its place, the rows a hash's fields decode to (expired access tokens and the
username index left out), the expiry a write gives its hash, and the warnings for
values that cannot be read or keys that cannot be sent. A base class of the store,
which sets :attr:`RedisLayout.prefix` and :attr:`RedisLayout._ciphers`.

Each partition is one Redis hash, ``<prefix>p:<partition>``, whose fields are
``<credential_type>|<cache key>`` and whose values are the entries' JSON. Sealed
values (AES-GCM, with a key from the app) take the hash's name after the prefix and
the field name as associated data, so a value does not decrypt once moved to another
field or partition (another user's hash, another tenant's); with several keys the
first encrypts and any of them decrypts, so a key can be rotated. A user's tokens are
one hash per home account; an app's tokens one hash per client and tenant, which
expires with its last token (``EXPIREAT`` the latest ``expires_on``); the other hashes
expire ``idle_ttl`` after their last write, and no hash lives longer than that after
its last write (a token claiming a far-future expiry included). Top-level sections of
an imported cache that tokensmith does not model are kept in one more hash,
``<prefix>verbatim`` (section name -> JSON), so an export returns them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tokensmith._redact import logger
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.schema import CredentialType
from tokensmith.stores._redis_health import RedisHealth, shown_key, text_of
from tokensmith.stores._redis_index import BY_USERNAME
from tokensmith.stores._redis_seal import opened, seal
from tokensmith.stores.base import Row
from tokensmith.stores.partition import partition_of, user

__all__ = ["RedisLayout", "glob_escaped"]

_VERBATIM_DATA = "verbatim|"
"""Before a verbatim section's name in its associated data (an entry's is its field)."""


class RedisLayout(RedisHealth):
    """The keys, fields and values of a Redis store's entries."""

    prefix: str
    _ciphers: tuple[Any, ...]

    def _hash(self, partition: str) -> str:
        return f"{self.prefix}p:{partition}"

    @property
    def _user_hashes(self) -> str:
        return self._hash(user(""))

    def _verbatim_hash(self) -> str:
        return f"{self.prefix}verbatim"

    def _place(self, change: Change) -> tuple[str, str]:
        """The hash and the field of a change's entry."""
        name = self._hash(partition_of(change.credential_type, change.entry))
        return name, f"{change.credential_type}|{change.key}"

    def _not_unicode(self, what: str, count: int) -> None:
        """Log entries left out for text UTF-8 cannot encode (at most every 30 s; no
        key or value is named: they may hold anything)."""
        if self._first_in_a_while("\0not unicode"):
            logger.warning(
                "token store: %d entries of a %s have a key or an account id that is not "
                "valid Unicode (a lone surrogate, as JSON's \\ud800 escape makes): not "
                "written to Redis",
                count,
                what,
            )

    def _seal(self, name: str, field: str, entry: Mapping[str, Any]) -> bytes:
        """The value of ``entry`` in hash ``name`` under ``field``."""
        return seal(self._ciphers, self._bound_to(name, field), entry)

    def _bound_to(self, name: str, field: str) -> bytes:
        """The associated data of a value: where it belongs (the hash's name after the
        prefix, so a store under another prefix reads a copied namespace, and the field)."""
        return f"{name[len(self.prefix) :]}\0{field}".encode()

    def _rows(self, name: Any, fields: Mapping[bytes, bytes]) -> list[Row]:
        rows: list[Row] = []
        place = text_of(name)
        unreadable = 0
        now = time.time()
        for raw_field, raw in fields.items():
            try:
                field = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
            except UnicodeDecodeError:  # not written by a tokensmith store
                continue
            if field.startswith(BY_USERNAME):
                continue  # the accounts of a username: no entry
            credential_type, _, key = field.partition("|")
            entry = self._open(place, field, raw)
            if entry is None:
                unreadable += 1
                continue
            if credential_type == CredentialType.ACCESS_TOKEN and _expired(entry, now):
                continue
            rows.append((credential_type, key, entry))
        self._unreadable(name, unreadable)
        return rows

    def _open(self, name: str, field: str, raw: bytes) -> dict[str, Any] | None:
        """The entry a value of hash ``name`` holds under ``field``; None if it holds
        none (logged by the caller)."""
        return opened(self._ciphers, self._bound_to(name, field), raw)

    def _unreadable(self, name: Any, count: int) -> None:
        """Log the values of one hash that held no entry: at most every 30 s in all,
        since after a key rotation every read finds them."""
        if count and self._first_in_a_while("\0unreadable"):
            logger.warning(
                "token store: %d Redis entries of %s could not be read (a wrong or retired "
                "encryption_key: while rotating, give the old key after the new one; a "
                "value written without encryption, moved from another hash or field, or "
                "damaged): skipped (this warning comes at most every 30 s)",
                count,
                shown_key(name),
            )


def glob_escaped(literal: str) -> str:
    """``literal`` as a pattern of SCAN's ``MATCH`` that matches only itself (its glob
    characters escaped: a prefix such as ``svc[1]:`` does not match ``svc1:``)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in literal)


def _merge_expiry(current: int | None, change: EntryPut) -> int | None:
    """The hash's expiry after this put: the latest ``expires_on`` of its access
    tokens, or None (idle TTL) once it holds anything else."""
    if current is None or change.credential_type != CredentialType.ACCESS_TOKEN:
        return None
    try:
        expires_on = int(change.entry.get("expires_on", 0))
    except (TypeError, ValueError, OverflowError):
        return None
    return max(current, expires_on)


def _of(row: Row, home_account_id: str) -> bool:
    """Whether ``row``'s entry belongs to ``home_account_id``."""
    return row[2].get("home_account_id") == home_account_id


def _expired(entry: Mapping[str, Any], now: float) -> bool:
    try:
        return int(entry.get("expires_on", 0)) < now
    except (TypeError, ValueError, OverflowError):
        return False
