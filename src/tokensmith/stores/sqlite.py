"""``SqliteStore``: one row per cache entry in a SQLite database (WAL mode).

Rows carry the entry's partition (:mod:`tokensmith.stores.partition`) and its home
account, environment, client, realm and credential type in indexed columns, so a
lookup reads the rows of one partition and a short-lived process never parses the
whole cache. Writes are one ``BEGIN IMMEDIATE`` transaction per token response; WAL
lets readers in other processes go on meanwhile, and a process killed during a write
leaves the last committed state. The file is created 0600 (SQLite gives its ``-wal``
and ``-shm`` files the same mode).

The schema, and the refusal of a newer or foreign database, are in
:mod:`~tokensmith.stores._sqlite_schema`; entries as rows in
:mod:`~tokensmith.stores._sqlite_rows`; sqlite3's exceptions mapped, and transactions
rolled back, in :mod:`~tokensmith.stores._sqlite_errors`. A forked child opens
connections of its own (see :func:`_reopen_after_fork`).
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from tokensmith.cache.changes import Change, EntryPut
from tokensmith.errors import ConfigurationError
from tokensmith.stores._msaljson import rows_of, state_of
from tokensmith.stores._sqlite_errors import encoding, mapped, transaction
from tokensmith.stores._sqlite_rows import (
    DELETE,
    INSERT_SECTION,
    SELECT,
    SELECT_SECTIONS,
    UPSERT,
    columns,
    parsed_rows,
    parsed_sections,
    remove_signed_out,
)
from tokensmith.stores._sqlite_schema import SCHEMA_VERSION, open_schema
from tokensmith.stores.base import Row, utf8_encodable
from tokensmith.stores.partition import ACCOUNTS, obo

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from tokensmith.cache.sign_out import SignOut

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

_OBO = obo("")
_SELECT_OBO = f"{SELECT} WHERE home_account_id = ? AND substr(partition, 1, {len(_OBO)}) = ?"
"""An account's rows in on-behalf-of partitions: found by the owner index (its first
column), the partition checked on each of the account's rows."""
_MAX_BUSY_TIMEOUT = 2_000_000
"""The longest ``busy_timeout`` (23 days): sqlite3 hands SQLite milliseconds as a C
``int``, and a longer one overflows it into no wait at all."""


class SqliteStore:
    """An entry store in one SQLite file, safe across threads and processes.

    Args:
        path: the database file (``~`` expanded; parent folders created 0700), or
            ``":memory:"`` for a database in memory (this store's only).
        busy_timeout: seconds a write waits for another process's transaction (0 to
            2,000,000).

    Raises:
        ConfigurationError: ``busy_timeout`` is not such a number.
        StoreError: the file cannot be opened, is not a tokensmith database (another
            program's tables, which are left as they are), or was written by a newer
            schema version.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0) -> None:
        number = isinstance(busy_timeout, (int, float)) and not isinstance(busy_timeout, bool)
        if not (number and 0 <= busy_timeout <= _MAX_BUSY_TIMEOUT):  # NaN compares False
            raise ConfigurationError(
                f"busy_timeout must be a number of seconds, 0 to {_MAX_BUSY_TIMEOUT:,}"
            )
        # a string, not a Path: pathlib costs a CLI's process about a millisecond
        self._path = os.path.expanduser(os.fspath(path))
        self._lock = threading.Lock()
        self._commits = 0  # this store's own commits, which data_version ignores
        self._busy_timeout = busy_timeout
        self._forked = False  # its connection was the parent's: open one of our own
        with mapped(self._path):
            if self._path != ":memory:":  # (SQLite's name of a database in memory)
                folder = os.path.dirname(os.path.abspath(self._path))
                os.makedirs(folder, mode=0o700, exist_ok=True)
                _create_private(self._path)
            self._connect()
        if self._path != ":memory:":  # (a database in memory is the child's own copy)
            _FILE_STORES.add(self)

    def _connect(self) -> None:
        """Open the connection and check or create the schema."""
        import sqlite3

        self._db: sqlite3.Connection = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            open_schema(self._db, self._path, self._busy_timeout)
        except BaseException:
            self._db.close()  # a refused file is not held open
            raise

    def _connection(self) -> sqlite3.Connection:
        """The connection (call with the lock held): a new one in a forked child."""
        if self._forked:
            self._connect()  # (failed: tried again at the next use)
            self._forked = False
            self._commits += 1  # its data_version may repeat the parent connection's
        return self._db

    @property
    def path(self) -> Path:
        """The database file."""
        from pathlib import Path

        return Path(self._path)

    def __repr__(self) -> str:
        return f"<SqliteStore {self._path!r}>"

    def apply(self, changes: Sequence[Change]) -> tuple[object, object]:
        """Write the changes in one transaction; the versions before and after it.

        Raises:
            StoreError: the database could not be written (nothing was), or an entry
                holds a value JSON cannot (a set, bytes, a loop: nothing was written).
        """
        return self._apply(changes, None)

    def apply_sign_out(self, changes: Sequence[Change], sign_out: SignOut) -> tuple[object, object]:
        """As :meth:`apply`, and first, in its transaction, delete every row
        ``sign_out`` removes, found by the indexed columns: rows another process wrote
        since this one read them, and rows whose body is damaged, go too. The changes
        come after, in order: a write this process made after the sign-out stays.

        Raises:
            StoreError: as :meth:`apply` (nothing was deleted or written).
        """
        return self._apply(changes, sign_out)

    def _apply(self, changes: Sequence[Change], sign_out: SignOut | None) -> tuple[object, object]:
        with encoding(self._path):  # (before the transaction: the lock is held less)
            statements = [
                (UPSERT, columns(c.credential_type, c.key, c.entry))
                if isinstance(c, EntryPut)
                else (DELETE, (c.credential_type, c.key))
                for c in changes
            ]

        def write(db: sqlite3.Connection) -> None:
            if sign_out is not None:
                remove_signed_out(db, sign_out)
            for sql, args in statements:  # in order: put then delete ends deleted
                db.execute(sql, args)

        return self._commit(write)

    def read(self, partition: str, *, username: str | None = None) -> list[Row]:
        """The rows of one partition (``accounts`` narrowed to ``username``)."""
        if partition == ACCOUNTS and username is not None:
            sql = SELECT + " WHERE partition = ? AND username = ?"
            return self._rows(sql, (partition, username.lower()))
        return self._rows(SELECT + " WHERE partition = ?", (partition,))

    def read_prefix(self, prefix: str) -> list[Row]:
        """The rows of every partition whose name starts with ``prefix``."""
        sql = SELECT + " WHERE partition >= ? AND partition < ?"
        return self._rows(sql, (prefix, prefix + "\U0010ffff"))

    def read_on_behalf_of(self, home_account_id: str) -> list[Row]:
        """The account's rows in on-behalf-of partitions (one query on the owner
        index)."""
        return self._rows(_SELECT_OBO, (home_account_id, _OBO))

    def read_all(self) -> dict[str, Any]:
        """The whole cache in MSAL's layout, as of one moment (one read transaction: an
        import another process commits meanwhile is in it whole or not at all).

        Raises:
            StoreError: the database could not be read.
        """
        with self._lock, mapped(self._path):
            db = self._connection()
            with transaction(db, "BEGIN"):
                fetched = db.execute(SELECT).fetchall()
                extra = db.execute(SELECT_SECTIONS).fetchall()
        return state_of(parsed_rows(fetched), parsed_sections(extra))

    def replace_all(self, state: Mapping[str, Any]) -> object:
        """Replace every row with the entries of ``state`` (one transaction); the
        version just after it (what memory holds once it holds ``state``).

        Raises:
            StoreError: as :meth:`apply` (the rows are left as they were).
        """
        rows, verbatim = rows_of(state)
        with encoding(self._path):  # (before the transaction: the lock is held less)
            entries = [columns(ct, key, entry) for ct, key, entry in rows]
            sections = [(name, json.dumps(body)) for name, body in verbatim.items()]

        def replace(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM entries")
            db.execute("DELETE FROM verbatim_sections")
            db.executemany(UPSERT, entries)
            db.executemany(INSERT_SECTION, sections)

        return self._commit(replace)[1]

    def _commit(
        self, write: Callable[[sqlite3.Connection], None]
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        """``write`` in one ``BEGIN IMMEDIATE`` transaction; the versions before and
        after it. The one after is computed: data_version does not count this
        connection's commit, and read again after it, it could count another
        process's made since, which memory does not hold."""
        with self._lock, mapped(self._path):
            db = self._connection()
            with transaction(db, "BEGIN IMMEDIATE"):
                before = self._version_locked()  # no other writer until the commit
                write(db)
            self._commits += 1
            return before, (before[0], self._commits)

    def count(self) -> int:
        """How many entries the database holds."""
        with self._lock, mapped(self._path):
            db = self._connection()
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def version(self) -> object:
        """Changes when anything commits: ``PRAGMA data_version`` (another connection)
        and this store's own commits (two caches over one store see each other's)."""
        with self._lock, mapped(self._path):
            self._connection()
            return self._version_locked()

    def _version_locked(self) -> tuple[int, int]:
        return self._db.execute("PRAGMA data_version").fetchone()[0], self._commits

    def close(self) -> None:
        """Close the connection (idempotent)."""
        _FILE_STORES.discard(self)
        with self._lock:
            self._forked = False  # (the parent's connection is closed already)
            self._db.close()

    def _rows(self, sql: str, args: tuple[str, ...]) -> list[Row]:
        if not utf8_encodable(*args):
            return []  # no row holds text UTF-8 cannot encode (a lone surrogate)
        with self._lock, mapped(self._path):
            fetched = self._connection().execute(sql, args).fetchall()
        return parsed_rows(fetched)


_CREATING = threading.Lock()
"""Held while a store of this process creates its file (see :func:`_create_private`)."""
_FILE_STORES: weakref.WeakSet[SqliteStore] = weakref.WeakSet()
"""This process's open stores of a file (not in memory), for :func:`_reopen_after_fork`."""


def _reopen_after_fork() -> None:
    """In a forked child, close every store's connection, and let each open a new one.

    SQLite keeps one record of a file's locks for all of a process's connections to
    it, and a child inherits it, believing it holds the parent's locks: it holds none
    of them, so the parent closing its store found itself the last user and deleted
    the write-ahead log the child still wrote to (the child's commits went to a
    deleted file). Every inherited connection is closed before any new one is opened,
    so the new ones make a record of their own and take their locks for real; the
    parent still holds its locks, so closing never checkpoints or deletes anything
    under it. Each store gets a new lock too (one a parent thread held stays held).
    """
    global _CREATING
    _CREATING = threading.Lock()
    stores = list(_FILE_STORES)
    for store in stores:
        store._lock = threading.Lock()
        store._forked = True
    for store in stores:
        with suppress(Exception):  # (a connection sqlite3 cannot close: its next use fails)
            store._db.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reopen_after_fork)


def _create_private(path: str) -> None:
    """Create the database file, 0600, if it does not exist yet.

    SQLite would create it with the umask's mode (0644), and a file created that way
    by one process and written first by another can leave a world-readable ``-wal``
    holding tokens. The file is opened outside SQLite only by the call that creates
    it: closing any descriptor of a file drops every POSIX lock this process holds
    on it (another store's too, whose writes then went to a write-ahead log other
    processes deleted). A file just created holds none, and ``_CREATING`` keeps this
    process's other stores from connecting to it before the descriptor is closed.
    """
    with _CREATING:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        os.close(descriptor)
