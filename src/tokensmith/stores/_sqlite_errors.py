"""The boundary of :class:`~tokensmith.stores.SqliteStore`: sqlite3's, the file
system's and json's exceptions as :class:`~tokensmith.errors.StoreError`, and the
transaction that rolls back on any of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from tokensmith.errors import StoreError, StoreLockTimeout

if TYPE_CHECKING:
    import sqlite3

__all__ = ["busy", "encoding", "mapped", "transaction"]


def busy(exc: Exception) -> bool:
    """True if sqlite3's error says another connection holds the lock."""
    return "locked" in str(exc) or "busy" in str(exc)


@contextmanager
def mapped(path: str) -> Iterator[None]:
    """sqlite3's and the file system's exceptions as :class:`StoreError`."""
    import sqlite3

    try:
        yield
    except sqlite3.OperationalError as exc:
        if busy(exc):
            raise StoreLockTimeout(f"SQLite store {path} stayed locked: {exc}") from exc
        raise StoreError(f"SQLite store {path}: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"SQLite store {path}: {exc}") from exc
    except UnicodeEncodeError as exc:  # sqlite3 encodes text as UTF-8, strictly
        raise StoreError(
            f"SQLite store {path}: text that is not valid Unicode (a lone surrogate, as "
            "JSON's \\ud800 escape makes) cannot be stored"
        ) from exc


@contextmanager
def encoding(path: str) -> Iterator[None]:
    """json's exceptions for a value it cannot encode (a set, bytes, a loop, nesting
    too deep) as :class:`StoreError`."""
    try:
        yield
    except (TypeError, ValueError, RecursionError) as exc:
        raise StoreError(f"SQLite store {path}: an entry JSON cannot hold ({exc})") from exc


@contextmanager
def transaction(db: sqlite3.Connection, begin: str) -> Iterator[None]:
    """The block in one transaction (``begin`` starts it): committed when the block
    ends, rolled back when it (or the COMMIT: busy, disk full, I/O error) fails."""
    import sqlite3

    db.execute(begin)
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        # SQLite rolls some failures back itself (a full disk, an I/O error); a failed
        # statement or COMMIT can leave the transaction open, holding its lock
        if db.in_transaction:
            with suppress(sqlite3.Error):  # the first error is the one to tell
                db.execute("ROLLBACK")
        raise
