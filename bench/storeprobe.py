"""Fresh-process probes of the persistent-store rows (see bench/scenarios/stores.py).

``python -m bench.storeprobe cli <library> <store> <path> <username>`` loads a
persisted cache and gets one silent token, as :mod:`bench.probe` does from a JSON
file: ``msal`` with msal-extensions' ``PersistedTokenCache(FilePersistence(path))``,
``tokensmith`` with ``PersistentTokenCache`` over ``sqlite`` or ``file``. It prints
``ok`` when the token came from the cache; the network is forbidden.

``python -m bench.storeprobe floor <path>`` is the share of the ``cli`` probe on SQLite
that is not tokensmith's own code: the standard-library modules that probe loads
(:data:`FLOOR_MODULES`; ``sqlite3`` alone brings ``datetime``), one query on the
database, and the interpreter's exit; it prints ``ok``.

``python -m bench.storeprobe redis <url> <size> <json-path>`` measures the Redis rows
(L1 hit, L2 hit, persisting one refreshed token) against a redis-server on loopback
and prints them as JSON; sockets may connect to loopback only.

Top-level imports are the standard library only, so a probe measures the library.
"""

from __future__ import annotations

import sys

__all__ = ["FLOOR_MODULES", "cli", "floor", "main", "persisted_cache", "refresh_event"]

FLOOR_MODULES = (
    "contextvars",
    "datetime",
    "enum",
    "json",
    "re",
    "sqlite3",
    "threading",
    "typing",
    "weakref",
)
"""Standard-library modules the ``cli`` probe loads with tokensmith on SQLite (a test
checks that it does), beyond those every interpreter starts with."""


def persisted_cache(library: str, store: str, path: str) -> object:
    """The persisted cache a CLI would build over ``path``."""
    if library == "msal":
        from msal_extensions import FilePersistence, PersistedTokenCache

        return PersistedTokenCache(FilePersistence(path))
    import tokensmith.stores as stores  # loads only the store named (as a CLI would)

    chosen = stores.SqliteStore(path) if store == "sqlite" else stores.FileStore(path)
    return stores.PersistentTokenCache(chosen)


def refresh_event(index: int, now: int) -> dict[str, object]:
    """The token response of user ``index``'s refresh, as an MSAL cache event."""
    from bench import cachegen

    uid = f"{index:08d}-0000-4000-8000-{index:012d}"
    return {
        "client_id": cachegen.CLIENT_ID,
        "scope": ["User.Read"],
        "token_endpoint": cachegen.TOKEN_ENDPOINT,
        "grant_type": "refresh_token",
        "data": {"refresh_token": f"rt-old-{index}"},
        "response": {
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": cachegen.SUBSET_TARGET,
            "access_token": f"at-refreshed-{index}-{now}",
            "refresh_token": f"rt-refreshed-{index}-{now}",
            "id_token": cachegen.id_token_for(uid, cachegen.username_for(index), now),
            "client_info": cachegen.client_info_for(uid),
        },
    }


def cli(library: str, store: str, path: str, username: str) -> str:
    """One silent token from a persisted cache; ``"ok"`` or a one-line error."""
    import importlib

    from bench.libs import Library
    from bench.netguard import forbid_network_for_good
    from bench.probe import silent_token

    forbid_network_for_good()
    lib = Library(library, importlib.import_module(library))
    return silent_token(lib, persisted_cache(library, store, path), username)


def floor(path: str) -> str:
    """The ``cli`` probe's standard-library share: :data:`FLOOR_MODULES` and one query."""
    import importlib

    for name in FLOOR_MODULES:
        importlib.import_module(name)
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        db.close()
    return "ok"


def main(argv: list[str]) -> int:
    """Entry point (see the module doc)."""
    if argv[:1] == ["cli"] and len(argv) == 5:
        outcome = cli(*argv[1:])
        print(outcome)
        return 0 if outcome == "ok" else 1
    if argv[:1] == ["floor"] and len(argv) == 2:
        print(floor(argv[1]))
        return 0
    if argv[:1] == ["redis"] and len(argv) == 4:
        from bench.redisrows import redis_rows

        print(redis_rows(argv[1], int(argv[2]), argv[3]))
        return 0
    print("usage: python -m bench.storeprobe cli|floor|redis ...")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
