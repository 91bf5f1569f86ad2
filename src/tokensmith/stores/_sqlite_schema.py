"""The schema of :class:`~tokensmith.stores.SqliteStore`'s database, checked (or
created, in WAL mode) when a connection opens.

Schema version 1 (``PRAGMA user_version``); a database of a newer version is refused, and
so is one that is not a tokensmith database (another program's tables), untouched.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tokensmith.errors import StoreError
from tokensmith.stores._sqlite_errors import busy

if TYPE_CHECKING:
    import sqlite3

__all__ = ["SCHEMA_VERSION", "WAL_LIMIT", "open_schema"]

SCHEMA_VERSION = 1
WAL_LIMIT = 4 * 1024 * 1024
"""Bytes the write-ahead log is cut back to once checkpointed (``journal_size_limit``;
SQLite keeps it at its largest size otherwise: a large import's, for good)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    credential_type TEXT NOT NULL,
    key TEXT NOT NULL,
    partition TEXT NOT NULL,
    home_account_id TEXT,
    environment TEXT,
    client_id TEXT,
    realm TEXT,
    username TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (credential_type, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_partition ON entries (partition, username);
CREATE INDEX IF NOT EXISTS entries_by_owner
    ON entries (home_account_id, environment, client_id, realm, credential_type);
CREATE TABLE IF NOT EXISTS verbatim_sections (name TEXT PRIMARY KEY, body TEXT NOT NULL);
"""
_TABLES = "FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite^_%' ESCAPE '^'"
_PROBE = (
    f"SELECT user_version, (SELECT count(*) {_TABLES}),"
    f" (SELECT count(*) {_TABLES} AND name IN ('entries', 'verbatim_sections'))"
    " FROM pragma_user_version"
)
"""The schema version, how many tables the file holds (not SQLite's own, such as
``ANALYZE``'s ``sqlite_stat1``), how many of them are ours: read when the version is
not this one's (a new file, a foreign one)."""
_OURS = (
    "SELECT count(*) FROM entries WHERE 0 UNION ALL SELECT count(*) FROM verbatim_sections WHERE 0"
)
"""Fails with "no such table" unless both of our tables are there (at our version: a
cheaper check than :data:`_PROBE`, about 70 us less on a fresh connection)."""


def open_schema(db: sqlite3.Connection, path: str, busy_timeout: float) -> None:
    """Check the schema version; create the schema (WAL mode) in a new file. Another
    process opening the new file at the same moment can make the switch to WAL fail at
    once with "database is locked" (SQLite's busy timeout does not cover it): tried
    again until ``busy_timeout``.

    Raises:
        StoreError: ``path`` is not a tokensmith database, or of a newer version.
        sqlite3.Error: as sqlite3 raises it (for the caller to map).
    """
    import sqlite3

    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            _open_once(db, path)
            return
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if not busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)


def _open_once(db: sqlite3.Connection, path: str) -> None:
    import sqlite3

    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:  # the usual open: our tables must be there
        try:
            db.execute(_OURS).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            raise StoreError(f"{path} is not a tokensmith database") from exc
    else:
        # one statement, so one snapshot: another process's creation of the schema
        # (tables and version in one transaction) is seen whole or not at all
        version, tables, ours = db.execute(_PROBE).fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} holds schema version {version}; this tokensmith reads "
                f"up to {SCHEMA_VERSION}"
            )
        if (version, tables) != (0, 0) and (version, ours) != (SCHEMA_VERSION, tables):
            # another program's database: tables at version 0, or not ours at all
            raise StoreError(f"{path} is not a tokensmith database")
    if version < SCHEMA_VERSION:  # (the schema's statements are idempotent)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")  # (per connection)
