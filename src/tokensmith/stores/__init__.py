"""Persistent and distributed token caches: one module for every store.

``PersistentTokenCache(store)`` is a token cache (``token_cache=`` of any sync or
async application) whose entries live in a store:

- :class:`SqliteStore` (entries in one SQLite file; a CLI, a desktop app, a worker),
- :class:`FileStore` (MSAL's JSON in a plain file, shared with msal-extensions),
- :class:`PersistenceStore` (any msal-extensions persistence object),
- :class:`RedisStore` (entries in Redis; a web farm),

Stores import their backend (sqlite3, redis, jeepney) only when constructed, and this
module imports a store's module only when its name is first used, so ``import
tokensmith`` and ``import tokensmith.stores`` pull in none of them.
See ``docs/persistence.md`` for which store to choose.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokensmith.stores.persistent import PersistentTokenCache
    from tokensmith.stores.redis import RedisStore
    from tokensmith.stores.snapshot import FileStore, PersistenceStore
    from tokensmith.stores.sqlite import SqliteStore

__all__ = ["FileStore", "PersistenceStore", "PersistentTokenCache", "RedisStore", "SqliteStore"]

_WHERE = {
    "FileStore": "tokensmith.stores.snapshot",
    "PersistenceStore": "tokensmith.stores.snapshot",
    "PersistentTokenCache": "tokensmith.stores.persistent",
    "RedisStore": "tokensmith.stores.redis",
    "SqliteStore": "tokensmith.stores.sqlite",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tokensmith.stores' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
