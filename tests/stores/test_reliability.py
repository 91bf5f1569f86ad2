"""Reliability under real processes: concurrent writers lose nothing and corrupt
nothing, a writer killed with SIGKILL mid-write leaves a valid store, tokensmith and
msal-extensions share one file at once, and every file is 0600.

Sizes: every store takes 8 processes x 1,000 writes. The file store rewrites and
fsyncs the whole file on every write (as msal-extensions does), so its writes are
serialized at the disk's fsync rate and its cost grows with the file: its 8 x 1,000
writes go over 25 keys per process (each process checks the file after every round
over its keys, and the last value of every key must survive, so a lost update shows),
and 8 x 125 writes of distinct keys check that every entry is kept as the file grows.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokensmith.stores import FileStore, PersistentTokenCache, SqliteStore

ROOT = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "tests.stores._worker"]


def _run_all(jobs: list[list[str]]) -> None:
    procs = [
        subprocess.Popen(WORKER + job, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for job in jobs
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    failed = [
        err.decode()[-600:] for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode
    ]
    assert not failed, failed


def _meta(state: dict[str, Any]) -> dict[str, int]:
    return {e["client_id"]: int(e["family_id"]) for e in state.get("AppMetadata", {}).values()}


def test_sqlite_8_processes_x_1000_writes(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SqliteStore(path).close()
    _run_all([["put", "sqlite", str(path), str(w), "1000", "0"] for w in range(8)])
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    store = SqliteStore(path)
    written = _meta(store.read_all())
    store.close()
    assert written == {f"t{w}-{n}": n for w in range(8) for n in range(1000)}  # 0 lost
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_redis_8_processes_x_1000_writes(redis_client: Any, redis_url: str) -> None:
    _run_all([["put", "redis", redis_url, str(w), "1000", "0"] for w in range(8)])
    fields = redis_client.hgetall("tokensmith:p:meta")
    written = {
        e["client_id"]: int(e["family_id"]) for e in (json.loads(v) for v in fields.values())
    }
    assert written == {f"t{w}-{n}": n for w in range(8) for n in range(1000)}


def test_file_store_8_processes_x_1000_writes_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    _run_all([["put", "file", str(path), str(w), "1000", "25", "check"] for w in range(8)])
    final = _meta(json.loads(path.read_text()))
    assert final == {f"t{w}-{k}": 975 + k for w in range(8) for k in range(25)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json"]


def test_file_store_8_processes_x_125_distinct_keys(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    _run_all([["put", "file", str(path), str(w), "125", "0"] for w in range(8)])
    final = _meta(json.loads(path.read_text()))
    assert final == {f"t{w}-{n}": n for w in range(8) for n in range(125)}  # 0 lost
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json"]


def test_tokensmith_and_msal_extensions_write_one_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    jobs = [["put", "file", str(path), str(w), "60", "0"] for w in range(3)]
    jobs += [["msalput", str(path), str(w), "60", "0"] for w in range(3)]
    _run_all(jobs)
    final = _meta(json.loads(path.read_text()))
    expected = {f"{tag}{w}-{n}": n for tag in "tm" for w in range(3) for n in range(60)}
    assert final == expected  # 0 lost, either way round
    assert len(PersistentTokenCache(FileStore(path)).serialize()) > 0


def _kill_during_writes(job: list[str], settle: float, writing: Callable[[], bool]) -> None:
    """Start a writer, wait until it is writing (``writing()``), let it go on for
    ``settle`` seconds, then SIGKILL it (mid-write: it writes in a tight loop)."""
    proc = subprocess.Popen(WORKER + job, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not writing():
        assert proc.poll() is None and time.monotonic() < deadline, "the writer never wrote"
        time.sleep(0.01)
    time.sleep(settle)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()  # reaped: its pid is gone, as after a crash


def _sqlite_has(path: Path, client_prefix: str) -> Callable[[], bool]:
    def check() -> bool:
        db = sqlite3.connect(path, timeout=10)
        try:
            sql = "SELECT count(*) FROM entries WHERE key LIKE ?"
            return bool(db.execute(sql, (f"%-{client_prefix}%",)).fetchone()[0])
        finally:
            db.close()

    return check


def _file_has(path: Path, client_prefix: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return f'"{client_prefix}' in path.read_text()
        except FileNotFoundError:
            return False

    return check


def test_sigkill_during_sqlite_writes_leaves_a_valid_database(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SqliteStore(path).close()
    for attempt in range(3):
        job = ["put", "sqlite", str(path), str(attempt), "100000", "0"]
        _kill_during_writes(job, 0.2, _sqlite_has(path, f"t{attempt}-"))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    store = SqliteStore(path)
    written = _meta(store.read_all())
    for attempt in range(3):  # what was committed is there, and every row parses
        mine = sorted(n for key, n in written.items() if key.startswith(f"t{attempt}-"))
        assert mine and mine == list(range(len(mine)))  # a prefix: no hole, no half row
    store.apply([])  # and the next writer goes on
    store.close()


def test_sigkill_during_file_writes_leaves_a_valid_file_and_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    for attempt in range(4):
        job = ["put", "file", str(path), str(attempt), "100000", "50"]
        _kill_during_writes(job, 0.1 + attempt / 10, _file_has(path, f"t{attempt}-"))
        json.loads(path.read_text())  # always a whole document
    for left in tmp_path.glob(".*.tmp"):  # a killed writer's temporary, a minute on
        os.utime(left, (time.time() - 61, time.time() - 61))
    # (a kill between the lock's creation and its pid leaves an empty lock: broken once
    # EMPTY_STALE_S old, well within this timeout)
    cache = PersistentTokenCache(FileStore(path, lock_timeout=10.0))
    cache.modify("AppMetadata", {"client_id": "after", "environment": "env"}, {"family_id": "1"})
    assert _meta(json.loads(path.read_text()))["after"] == 1  # a stale lock did not block
    # a temporary file a killed writer left is swept when the next store opens the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json"]
