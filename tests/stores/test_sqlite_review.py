"""SqliteStore under failures and odd input: a failed commit, a full disk, MSAL round trips."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokensmith.cache.changes import EntryPut
from tokensmith.errors import StoreError, StoreLockTimeout
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


def _looped() -> dict[str, Any]:
    entry: dict[str, Any] = dict(_RT)
    entry["self"] = entry
    return entry


def _tuple_key() -> dict[Any, Any]:
    entry: dict[Any, Any] = dict(_RT)
    entry[1, 2] = "x"
    return entry


def _deep() -> dict[str, Any]:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    return {**_RT, "deep": nested}


_NOT_JSON = {
    "a set": lambda: {**_RT, "scopes": {"a", "b"}},
    "bytes": lambda: {**_RT, "secret": b"rt"},
    "a key JSON cannot hold": _tuple_key,
    "a loop": _looped,
    "nesting too deep": _deep,
}


def _writable_by_others(path: Path) -> None:
    """Another process can write at once: no transaction of the store holds the lock."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    other.execute("COMMIT")
    other.close()


_WRITES = {
    "apply": lambda store, bad: store.apply([*_put("k1"), EntryPut("RefreshToken", "k2", bad)]),
    "import, an entry": lambda store, bad: store.replace_all({"RefreshToken": {"k1": bad}}),
    "import, a section": lambda store, bad: store.replace_all({"Extra": bad}),
}


@pytest.mark.parametrize("write", _WRITES.values(), ids=_WRITES)
@pytest.mark.parametrize("make", _NOT_JSON.values(), ids=_NOT_JSON)
def test_a_value_json_cannot_hold_is_a_store_error_and_the_store_goes_on(
    tmp_path: Path, make: Any, write: Any
) -> None:
    # apply encoded the entries outside the store's error mapping, and replace_all
    # inside its transaction (rolled back): either way json's TypeError, ValueError (a
    # loop) or RecursionError came out raw, not the StoreError expected of a store.
    path = tmp_path / "cache.db"
    store = SqliteStore(path, busy_timeout=0)
    store.apply(_put("kept"))
    with pytest.raises(StoreError, match="JSON"):
        write(store, make())
    _writable_by_others(path)
    assert store.read_all() == {"RefreshToken": {"kept": _RT}}
    store.apply(_put("k3"))
    assert sorted(key for _, key, _ in store.read("user:u.tid")) == ["k3", "kept"]
    store.close()


class _Faulty:
    """The store's connection, whose statements named in ``faults`` fail."""

    def __init__(self, real: sqlite3.Connection, faults: dict[str, Any]) -> None:
        self.real, self.faults = real, faults

    @property
    def in_transaction(self) -> bool:
        return self.real.in_transaction

    def execute(self, sql: str, *args: Any) -> Any:
        fault = next((f for start, f in self.faults.items() if sql.startswith(start)), None)
        if fault is not None:
            fault(self.real)
        return self.real.execute(sql, *args)


def _io_error(real: sqlite3.Connection) -> None:
    real.execute("ROLLBACK")  # as SQLite does after an I/O error
    raise sqlite3.OperationalError("disk I/O error")


def _interrupted(real: sqlite3.Connection) -> None:
    raise sqlite3.OperationalError("interrupted")


def test_an_export_whose_read_fails_reports_that_failure(tmp_path: Path) -> None:
    # read_all ended its read transaction in a finally: COMMIT. SQLite rolls the
    # transaction back itself after an I/O error, so that COMMIT failed too, and its
    # "cannot commit - no transaction is active" replaced the error that happened.
    store = SqliteStore(tmp_path / "cache.db")
    store.apply(_put("kept"))
    real = store._connection()
    store._connection = lambda: _Faulty(real, {"SELECT CAST(name": _io_error})  # type: ignore[method-assign,assignment,return-value]
    with pytest.raises(StoreError, match="disk I/O error"):
        store.read_all()
    assert not real.in_transaction
    store.close()


@pytest.mark.parametrize("failing", ["SELECT CAST(name", "COMMIT"])
def test_an_export_that_fails_ends_its_read_transaction(tmp_path: Path, failing: str) -> None:
    # A read (or the COMMIT closing it) that failed and left the transaction open: the
    # store's every later export failed ("cannot start a transaction within a
    # transaction") and its read snapshot kept the write-ahead log from being
    # checkpointed.
    path = tmp_path / "cache.db"
    store = SqliteStore(path)
    store.apply(_put("kept"))
    real = store._connection()
    store._connection = lambda: _Faulty(real, {failing: _interrupted})  # type: ignore[method-assign,assignment,return-value]
    with pytest.raises(StoreError, match="interrupted"):
        store.read_all()
    assert not real.in_transaction
    store._connection = lambda: real  # type: ignore[method-assign]
    assert store.read_all() == {"RefreshToken": {"kept": _RT}}
    store.close()
