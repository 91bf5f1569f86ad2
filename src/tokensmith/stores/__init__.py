"""Persistent and distributed token caches: one module for every store.

``PersistentTokenCache(store)`` is a token cache (``token_cache=`` of any sync or
async application) whose entries live in a store:

- :class:`SqliteStore` (entries in one SQLite file; a CLI, a desktop app, a worker),
- :class:`FileStore` (MSAL's JSON in a plain file, shared with msal-extensions),
- :class:`PersistenceStore` (any msal-extensions persistence object),
- :class:`RedisStore` (entries in Redis; a web farm),
- :class:`SecretServiceStore`, :class:`KeychainStore`, :class:`DpapiStore` and
  :func:`encrypted_store` (MSAL's JSON encrypted by the operating system, shared
  with msal-extensions; a desktop app).

:class:`BoundedTokenCache` is the one cache here with no store: memory only, with a
bound on its size (a long-running service that keeps no tokens across restarts).

Stores import their backend (sqlite3, redis, jeepney) only when constructed, and this
module imports a store's module only when its name is first used, so ``import
tokensmith`` and ``import tokensmith.stores`` pull in none of them.
See ``docs/persistence.md`` for which store to choose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith._lazy import lazy_names

if TYPE_CHECKING:
    from tokensmith.stores.bounded import BoundedTokenCache
    from tokensmith.stores.dpapi import DpapiStore
    from tokensmith.stores.encrypted import encrypted_store
    from tokensmith.stores.keychain import KeychainStore
    from tokensmith.stores.persistent import PersistentTokenCache
    from tokensmith.stores.redis import RedisStore
    from tokensmith.stores.secretservice import SecretServiceStore
    from tokensmith.stores.snapshot import FileStore, PersistenceStore
    from tokensmith.stores.sqlite import SqliteStore

__all__ = [
    "BoundedTokenCache",
    "DpapiStore",
    "FileStore",
    "KeychainStore",
    "PersistenceStore",
    "PersistentTokenCache",
    "RedisStore",
    "SecretServiceStore",
    "SqliteStore",
    "encrypted_store",
]

_WHERE = {
    "BoundedTokenCache": "tokensmith.stores.bounded",
    "DpapiStore": "tokensmith.stores.dpapi",
    "FileStore": "tokensmith.stores.snapshot",
    "KeychainStore": "tokensmith.stores.keychain",
    "PersistenceStore": "tokensmith.stores.snapshot",
    "PersistentTokenCache": "tokensmith.stores.persistent",
    "RedisStore": "tokensmith.stores.redis",
    "SecretServiceStore": "tokensmith.stores.secretservice",
    "SqliteStore": "tokensmith.stores.sqlite",
    "encrypted_store": "tokensmith.stores.encrypted",
}


__getattr__ = lazy_names(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
