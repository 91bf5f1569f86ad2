"""SqliteStore under PersistentTokenCache: partitions read on demand, import/export."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import msal
import pytest
from tests.stores._apps import SCOPE, async_cca, cca
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, app_event, user_event, user_token

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import EntryPut
from tokensmith.errors import StoreError
from tokensmith.stores import PersistentTokenCache, SqliteStore


def _cache(path: Path) -> PersistentTokenCache:
    return PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)


def _fill(path: Path, users: int) -> None:
    cache = _cache(path)
    for n in range(users):
        cache.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    cache.close()


def test_a_fresh_process_reads_only_the_partition_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 50)
    fresh = _cache(path)
    found = user_token(fresh, "u7", ["User.Read"])
    assert isinstance(found, dict) and found["home_account_id"] == "u7.tid"
    assert sorted(fresh._cache) == ["AccessToken", "IdToken", "RefreshToken"]
    assert all(
        entry["home_account_id"] == "u7.tid"
        for section in fresh._cache.values()
        for entry in section.values()
    )
    accounts = fresh.find_accounts(username="ada@contoso.example")
    assert len(accounts) == 50  # every user of _fill has this username
    assert fresh.store.count() == 50 * 4 + 1  # AT, Account, IdToken, RT each; one AppMetadata


def test_a_miss_reads_what_another_process_wrote_since(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    reader, writer = _cache(path), _cache(path)
    assert user_token(reader, "u1", ["Mail.Read"]) is None
    writer.add(user_event(uid="u1", utid="tid", scope=["Mail.Read"]), now=NOW)
    found = user_token(reader, "u1", ["Mail.Read"])
    assert isinstance(found, dict) and found["target"] == "Mail.Read"


def test_a_sign_out_removes_what_other_processes_wrote(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 3)
    other, here = _cache(path), _cache(path)
    other.add(user_event(uid="u1", utid="tid", scope=["Mail.Read"]), now=NOW)
    here.forget_account(home_account_id="u1.tid", environments=[ENV], client_id=CLIENT_ID)
    left = _cache(path)
    assert user_token(left, "u1", ["Mail.Read"]) is None
    assert user_token(left, "u1", ["User.Read"]) is None
    assert left.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV]) == []
    assert user_token(left, "u2", ["User.Read"]) is not None


def test_msal_json_imports_and_exports_unchanged(tmp_path: Path) -> None:
    source = msal.SerializableTokenCache()
    source.add(user_event(), now=NOW)
    source.add(app_event(), now=NOW)
    document = json.loads(source.serialize())
    document["SomethingNew"] = {"k": {"field": 1}}
    document["Weird"] = [1, 2]
    cache = _cache(tmp_path / "cache.db")
    cache.deserialize(json.dumps(document))
    assert json.loads(_cache(tmp_path / "cache.db").serialize()) == document
    back = msal.SerializableTokenCache()
    back.deserialize(cache.serialize())
    assert json.loads(back.serialize()) == document


def test_a_bad_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 1)
    cache = _cache(path)
    with pytest.raises(ValueError):
        cache.deserialize("{not json")
    assert cache.store.count() == 5


@pytest.mark.parametrize("empty", ["", b"", None])
def test_an_empty_document_does_not_wipe_the_shared_store(
    tmp_path: Path, empty: str | bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    # MSAL-style start-up code, cache.deserialize(open(path).read()), on an empty file:
    # every process's tokens were gone. "{}" still empties the store on purpose.
    path = tmp_path / "cache.db"
    _fill(path, 1)
    cache = _cache(path)
    cache.deserialize(empty)
    assert cache.store.count() == 5 and "left as it was" in caplog.text
    cache.deserialize("{}")
    assert cache.store.count() == 0


def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 1)
    cache = _cache(path)
    user_token(cache, "u0", ["User.Read"])  # WAL and shared-memory files exist while open
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(path)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_text("just text, long enough to not be a database header " * 4)
    with pytest.raises(StoreError, match=str(path)):
        SqliteStore(path)


def test_sync_and_async_apps_share_one_database(tmp_path: Path) -> None:
    clock = FakeClock()
    entra = FakeEntra(clock)
    path = tmp_path / "cache.db"
    first = cca(entra, clock, PersistentTokenCache(SqliteStore(path), clock=clock))
    assert first.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    second = async_cca(entra, clock, PersistentTokenCache(SqliteStore(path), clock=clock))
    result = asyncio.run(second.acquire_token_for_client(SCOPE))
    assert result["token_source"] == "cache"
    assert result["access_token"] == "at-1"
    assert entra.tokens_posted() == 1


def test_nothing_is_left_to_save_by_hand(tmp_path: Path) -> None:
    cache = _cache(tmp_path / "cache.db")
    cache.add(user_event(), now=NOW)
    assert cache.has_state_changed is False  # MSAL-style "save if changed" code saves nothing
    assert _cache(tmp_path / "cache.db").find_accounts() != []


def test_a_sign_out_elsewhere_is_seen_before_a_refresh(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    here, elsewhere = _cache(path), _cache(path)
    assert here.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV]) != []
    elsewhere.forget_account(home_account_id="u1.tid", environments=[ENV], client_id=CLIENT_ID)
    # the refresh path reads the partition again and drops what the store no longer has,
    # so a signed-out account is never refreshed (and written back) from memory
    assert here.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV]) == []
    assert here.find_refresh_tokens(home_account_id="u0.tid", environments=[ENV]) != []


def _rts(cache: PersistentTokenCache, uid: str) -> list[str]:
    found = cache.find_refresh_tokens(home_account_id=f"{uid}.tid", environments=[ENV])
    return [rt["secret"] for rt in found]


def test_two_caches_over_one_store_object_see_each_others_writes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "cache.db")  # one connection: data_version ignores it
    first = PersistentTokenCache(store, clock=lambda: NOW)
    second = PersistentTokenCache(store, clock=lambda: NOW)
    second.add(user_event(uid="u0", utid="tid", scope=["User.Read"]), now=NOW)
    assert _rts(first, "u0") == ["rt-u0"]
    second.forget_account(home_account_id="u0.tid", environments=[ENV], client_id=CLIENT_ID)
    assert _rts(first, "u0") == []  # the refresh path reads again: the sign-out is seen
    # a cache's own writes do not make what it read look stale
    first.add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=NOW)
    version = store.version()
    assert set(first._loaded.values()) == {version}
    store.close()


def test_a_second_store_on_one_file_keeps_every_process_write(tmp_path: Path) -> None:
    # Opening and closing the file outside SQLite dropped this process's POSIX locks
    # on it: another process then took the write-ahead log for unused and deleted it,
    # and the first store's later writes (and at close, the old log) were lost.
    path = tmp_path / "cache.db"
    cache = _cache(path)
    for n in range(20):
        cache.add(user_event(uid=f"a{n}", utid="tid", scope=["User.Read"]), now=NOW)
    second = SqliteStore(path)
    read = (
        "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM entries')"
    )
    _run_elsewhere(read, str(path))
    _fill_elsewhere(path, "b", 200)
    for n in range(200):
        cache.add(user_event(uid=f"c{n}", utid="tid", scope=["User.Read"]), now=NOW)
    cache.close()
    second.close()
    check = sqlite3.connect(path)
    keys = [
        k
        for (k,) in check.execute(
            "SELECT key FROM entries WHERE credential_type = ?", ("RefreshToken",)
        )
    ]
    check.close()
    assert sorted(k.split(".")[0][0] for k in keys) == ["a"] * 20 + ["b"] * 200 + ["c"] * 200


def _fill_elsewhere(path: Path, prefix: str, users: int) -> None:
    script = (
        "import sys\n"
        "from tests.unit.cache._helpers import NOW, user_event\n"
        "from tokensmith.stores import PersistentTokenCache, SqliteStore\n"
        "cache = PersistentTokenCache(SqliteStore(sys.argv[1]))\n"
        "for n in range(int(sys.argv[3])):\n"
        "    cache.add(user_event(uid=f'{sys.argv[2]}{n}', utid='tid'), now=NOW)\n"
        "cache.close()\n"
    )
    _run_elsewhere(script, str(path), prefix, str(users))


def _run_elsewhere(script: str, *args: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _damage(path: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, args)
    db.commit()
    db.close()


def test_a_row_that_is_not_utf8_is_skipped_and_no_token_reaches_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    _damage(
        path,
        "UPDATE entries SET body = CAST(? AS TEXT) WHERE key LIKE 'u1.%' AND credential_type = ?",
        b'{"secret": "rt-u1-\xff", "credential_type": "RefreshToken"}',
        "RefreshToken",
    )
    fresh = _cache(path)
    assert _rts(fresh, "u1") == []  # damaged outside tokensmith: skipped, not fatal
    assert _rts(fresh, "u0") == ["rt-u0"]
    assert "rt-u1" not in fresh.serialize()


def test_damaged_rows_and_sections_do_not_break_reads_or_the_export(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    deep = "[" * 100_000 + "]" * 100_000  # deeper than json's recursion limit
    _damage(path, "UPDATE entries SET body = ? WHERE key LIKE 'u1.%'", deep)
    _damage(path, "INSERT INTO verbatim_sections (name, body) VALUES (?, ?)", "Extra", "{not json")
    fresh = _cache(path)
    assert _rts(fresh, "u1") == []
    assert _rts(fresh, "u0") == ["rt-u0"]
    exported = json.loads(fresh.serialize())
    assert "Extra" not in exported and len(exported["RefreshToken"]) == 1


def test_one_damaged_entry_does_not_hide_its_section_from_other_processes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    state = json.loads(_cache(path).serialize())
    state["RefreshToken"]["damaged"] = "not an object"
    with caplog.at_level("WARNING", logger="tokensmith"):
        _cache(path).deserialize(json.dumps(state))
    assert _rts(_cache(path), "u1") == ["rt-u1"]  # a fresh process finds it in the store
    assert "damaged" not in json.loads(_cache(path).serialize())["RefreshToken"]
    assert [r.getMessage() for r in caplog.records].count(
        "token store: section 'RefreshToken' holds 1 entries that are not objects, or is "
        "not an object; not stored"
    ) == 1


def test_a_new_file_another_connection_holds_is_waited_for_not_refused(tmp_path: Path) -> None:
    # Switching a new file to WAL fails at once with "database is locked" while another
    # connection holds it (SQLite's busy timeout does not cover it): processes opening
    # one new store together got a StoreLockTimeout at once.
    import threading

    path = tmp_path / "cache.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE held (x)")
    release = threading.Timer(0.3, lambda: other.execute("ROLLBACK"))
    release.start()
    try:
        store = SqliteStore(path, busy_timeout=30)
    finally:
        release.join()
        other.close()
    assert store.count() == 0
    store.close()


def test_unknown_sections_are_kept_whatever_their_shape_and_damaged_known_ones_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 1)
    state = json.loads(_cache(path).serialize())
    state["XExtension"] = {"schema_version": 3, "owner": "contoso"}  # not ours: kept
    state["Other"] = ["a", 1]
    state["AppMetadata"] = "damaged"  # ours, not an object: dropped
    state["AccessToken"]["junk"] = 5  # an entry that is not an object: dropped
    _cache(path).deserialize(json.dumps(state))
    exported = json.loads(_cache(path).serialize())
    assert exported["XExtension"] == {"schema_version": 3, "owner": "contoso"}
    assert exported["Other"] == ["a", 1]
    assert "AppMetadata" not in exported
    assert "junk" not in exported["AccessToken"] and len(exported["AccessToken"]) == 1
    assert _rts(_cache(path), "u0") == ["rt-u0"]


@pytest.mark.parametrize("user_version", [0, 1, -3])
def test_a_database_that_is_not_ours_is_refused_and_left_untouched(
    tmp_path: Path, user_version: int
) -> None:
    # A database of another program (its tables, any user_version) was taken over: at
    # version 0 tokensmith added its tables, set user_version and switched the file to
    # WAL; at version 1 it opened, and every read then failed with "no such table".
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE people (name TEXT)")
    db.execute(f"PRAGMA user_version={user_version}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a tokensmith database"):
        SqliteStore(path)
    db = sqlite3.connect(path)
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
    assert tables == ["people"]
    assert db.execute("PRAGMA user_version").fetchone()[0] == user_version
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()


def test_an_empty_file_is_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.touch()
    store = SqliteStore(path)
    assert store.count() == 0
    store.close()


def test_sqlites_own_tables_do_not_make_a_store_foreign(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    db = sqlite3.connect(path)
    db.execute("ANALYZE")  # creates sqlite_stat1
    db.close()
    assert _rts(_cache(path), "u1") == ["rt-u1"]


def test_text_that_is_not_unicode_is_a_store_error_and_changes_nothing(tmp_path: Path) -> None:
    # JSON's "\ud800" escape is a lone surrogate, which UTF-8 cannot encode: sqlite3
    # raised UnicodeEncodeError from inside the store (an import, a sign-in whose
    # username or account id held one) instead of the documented StoreError.
    path = tmp_path / "cache.db"
    _fill(path, 1)
    state = json.loads(_cache(path).serialize())
    account = next(iter(state["Account"].values()))
    state["Account"]["k\ud800"] = {**account, "username": "ada\ud800@contoso.example"}
    with pytest.raises(StoreError, match="not valid Unicode"):
        _cache(path).deserialize(json.dumps(state))
    assert _rts(_cache(path), "u0") == ["rt-u0"]
    assert _cache(path).store.count() == 4 + 1


@pytest.mark.parametrize("busy_timeout", [float("nan"), -1.0, 3e6, "10", None, True])
def test_a_bad_busy_timeout_is_a_configuration_error_before_any_file_is_made(
    tmp_path: Path, busy_timeout: object
) -> None:
    # NaN made the retry of a new file's switch to WAL wait for ever (no deadline
    # compares true with it); 3e6 s overflowed sqlite3's C int of milliseconds into no
    # wait at all; a string raised TypeError after the file was created.
    from tokensmith.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="busy_timeout"):
        SqliteStore(tmp_path / "cache.db", busy_timeout=busy_timeout)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_the_write_ahead_log_shrinks_back_after_a_large_import(tmp_path: Path) -> None:
    # SQLite keeps a WAL file at its largest size unless journal_size_limit is set: after
    # one large import (or a large batch) the -wal file stayed as large as the import
    # for as long as any process kept the store open.
    from tokensmith.stores._sqlite_schema import WAL_LIMIT

    path = tmp_path / "cache.db"
    store = SqliteStore(path)
    rt = {"home_account_id": "u.tid", "credential_type": "RefreshToken", "secret": "x" * 2000}
    big = {"RefreshToken": {f"k{n}": {**rt, "home_account_id": f"u{n}"} for n in range(4000)}}
    store.replace_all(big)
    assert os.path.getsize(f"{path}-wal") > 2 * WAL_LIMIT
    store.apply([EntryPut("RefreshToken", "k1", {**rt, "secret": "rotated"})])
    assert os.path.getsize(f"{path}-wal") <= WAL_LIMIT
    assert store.count() == 4000
    store.close()


def test_an_in_memory_database_makes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's ":memory:" is no file name: the store created an empty file called
    # ":memory:" in the working directory, then SQLite opened a database in memory.
    monkeypatch.chdir(tmp_path)
    cache = PersistentTokenCache(SqliteStore(":memory:"), clock=lambda: NOW)
    cache.add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=NOW)
    assert _rts(cache, "u1") == ["rt-u1"]
    cache.close()
    assert list(tmp_path.iterdir()) == []


def test_a_lookup_of_text_that_is_not_unicode_finds_nothing(tmp_path: Path) -> None:
    # No row can hold a lone surrogate, so a lookup of one finds nothing (as MSAL's
    # get_accounts(username=...) does); it raised from inside the store.
    path = tmp_path / "cache.db"
    _fill(path, 1)
    cache = _cache(path)
    assert cache.find_accounts(username="ada\ud800@contoso.example") == []
    assert cache.store.read("user:\ud800") == [] and cache.store.read_prefix("app:\ud800") == []
    assert _rts(cache, "u0") == ["rt-u0"]


_FORKED_WRITER = """
import os, sys
from tokensmith.cache.changes import EntryPut
from tokensmith.stores import SqliteStore

def put(store, key):
    store.apply([EntryPut("Account", key, {"home_account_id": "h", "username": "u"})])

store = SqliteStore(sys.argv[1])
put(store, "parent")
written, go_on = os.pipe(), os.pipe()
pid = os.fork()
if pid == 0:
    try:
        put(store, "child-1")
        os.write(written[1], b"x")
        os.read(go_on[0], 1)  # the parent has closed its store
        put(store, "child-2")
        ok = len(store.read("accounts")) == 3
    except BaseException:
        ok = False
    os._exit(0 if ok else 1)  # without closing: a worker that never does
os.read(written[0], 1)
store.close()
os.write(go_on[1], b"x")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_keeps_what_it_writes_after_its_parent_closed_the_store(
    tmp_path: Path,
) -> None:
    # A connection carried across fork() shares SQLite's record of the file's locks
    # with the parent's: the child held none of them for real, so the parent, closing
    # the store, found itself the last user, checkpointed and deleted the write-ahead
    # log and its shared memory while the child still wrote to them (its commits
    # reached a deleted file: lost).
    path = tmp_path / "cache.db"
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_WRITER, str(path)], timeout=60, capture_output=True
    )
    assert done.returncode == 0, done.stderr[-500:]
    store = SqliteStore(path)
    assert sorted(key for _, key, _ in store.read("accounts")) == ["child-1", "child-2", "parent"]
    store.close()


_FORKED_VERSION = """
import os, sys
from tokensmith.cache.changes import EntryPut
from tokensmith.stores import SqliteStore

store = SqliteStore(sys.argv[1])
store.apply([EntryPut("Account", "parent", {"home_account_id": "h", "username": "u"})])
seen = store.version()
pid = os.fork()
if pid == 0:
    os._exit(0 if store.version() != seen else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_childs_new_connection_is_a_new_version(tmp_path: Path) -> None:
    # data_version counts per connection: the child's new connection could answer what
    # the parent's did, so memory would take the store as unchanged since it last read
    # it and a miss would not read what other processes wrote meanwhile.
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_VERSION, str(tmp_path / "cache.db")],
        timeout=60,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr[-500:]


def test_an_export_is_one_moment_not_half_of_a_concurrent_import(tmp_path: Path) -> None:
    # read_all read the entries and the verbatim sections in two statements: an import
    # another process committed between them gave an export with the old entries and
    # the new sections.
    path = tmp_path / "cache.db"
    before = {"RefreshToken": {"rt-old": {"secret": "old"}}, "Extra": {"v": "old"}}
    after = {"RefreshToken": {"rt-new": {"secret": "new"}}, "Extra": {"v": "new"}}
    other = SqliteStore(path)
    other.replace_all(before)
    store = SqliteStore(path)
    real = store._connection()

    class ImportAfterTheFirstStatement:
        """The store's connection; the other process imports once the first read ran."""

        def __init__(self) -> None:
            self.reads = 0

        def execute(self, sql: str, *args: Any) -> Any:
            cursor = real.execute(sql, *args)
            if sql.startswith("SELECT"):
                self.reads += 1
                if self.reads == 1:
                    fetched = cursor.fetchall()
                    other.replace_all(after)
                    return _Fetched(fetched)
            return cursor

    proxy = ImportAfterTheFirstStatement()
    store._connection = lambda: proxy  # type: ignore[assignment,return-value]
    exported = store.read_all()
    assert proxy.reads == 2
    assert exported["Extra"] == {"v": "old"}
    assert sorted(exported["RefreshToken"]) == ["rt-old"]
    store._connection = lambda: real  # type: ignore[method-assign]
    assert store.read_all()["Extra"] == {"v": "new"}  # the import landed, whole
    store.close()
    other.close()


class _Fetched:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def fetchall(self) -> list[Any]:
        return self._rows
