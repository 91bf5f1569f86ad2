"""SqliteStore under failures and odd input: a failed commit, a full disk, MSAL round trips."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tokensmith.cache.changes import EntryPut
from tokensmith.errors import StoreLockTimeout
from tokensmith.stores import SqliteStore

_RT = {
    "credential_type": "RefreshToken",
    "home_account_id": "u.tid",
    "environment": "login.microsoftonline.com",
    "client_id": "cid",
    "secret": "rt",
}


def _put(key: str) -> list[EntryPut]:
    return [EntryPut("RefreshToken", key, dict(_RT))]


def test_a_commit_that_fails_releases_the_write_lock(tmp_path: Path) -> None:
    # A COMMIT that failed (busy here: a database another tool switched out of WAL,
    # with a reader; or a full disk) left the transaction open: the store held the
    # write lock for good, every later write of it failed with "cannot start a
    # transaction within a transaction" and every other process's timed out.
    path = tmp_path / "cache.db"
    SqliteStore(path).close()
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    assert other.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    store = SqliteStore(path, busy_timeout=0)
    other.execute("BEGIN")
    other.execute("SELECT count(*) FROM entries").fetchall()  # a reader: COMMIT is busy
    with pytest.raises(StoreLockTimeout):
        store.apply(_put("k1"))
    other.execute("COMMIT")
    other.execute("BEGIN IMMEDIATE")  # another writer is not locked out
    other.execute("COMMIT")
    store.apply(_put("k2"))
    assert [key for _, key, _ in store.read("user:u.tid")] == ["k2"]
    store.close()
    other.close()


_FULL_DISK = """
import os, resource, signal, sys
from tokensmith.cache.changes import EntryPut
from tokensmith.errors import StoreError
from tokensmith.stores import SqliteStore

path = sys.argv[1]
store = SqliteStore(path)
entry = {"home_account_id": "u.tid", "client_id": "cid", "secret": "rt"}
store.apply([EntryPut("RefreshToken", "kept", entry)])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
limit = os.path.getsize(path + "-wal") + 8192
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
big = {f"k{n}": {**entry, "secret": "x" * 1000} for n in range(4000)}
try:
    store.replace_all({"RefreshToken": big})
except StoreError as exc:
    print(exc)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
print(sorted(key for _, key, _ in store.read("user:u.tid")))
"""


def test_a_full_disk_is_reported_as_such_and_changes_nothing(tmp_path: Path) -> None:
    # SQLite rolls a transaction back itself when a write fails for a full disk or an
    # I/O error; the store's own ROLLBACK then failed, and the error raised said
    # "cannot rollback - no transaction is active" instead of what went wrong.
    path = tmp_path / "cache.db"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path)], timeout=120, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-500:]
    error, keys = done.stdout.splitlines()
    assert "rollback" not in error and ("disk I/O error" in error or "full" in error)
    assert keys == "['kept']"
