"""FileStore: msal-extensions' file format and lock file, atomic writes, recovery."""

from __future__ import annotations

import copy
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msal
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msal_extensions import FilePersistence, PersistedTokenCache
from msal_extensions.filelock import CrossPlatLock
from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, user_event

from tokensmith.cache.changes import EntryPut
from tokensmith.errors import (
    ConfigurationError,
    StoreError,
    StoreLockTimeout,
    StoreUnavailableError,
)
from tokensmith.stores import (
    FileStore,
    PersistenceStore,
    PersistentTokenCache,
    _pids,
    lockfile,
    snapshot,
)
from tokensmith.stores._document import Document
from tokensmith.stores.lockfile import cross_process_lock, lockfile_of


def _cache(path: Path, **kwargs: float) -> PersistentTokenCache:
    return PersistentTokenCache(FileStore(path, **kwargs), clock=lambda: NOW)


def _at(cache: msal.TokenCache | PersistentTokenCache, uid: str) -> list[dict[str, object]]:
    return [
        e for e in cache.search("AccessToken", now=NOW) if e.get("home_account_id") == f"{uid}.tid"
    ]


def test_two_caches_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    first, second = _cache(path), _cache(path)
    first.add(user_event(uid="a", utid="tid"), now=NOW)
    second.add(user_event(uid="b", utid="tid"), now=NOW)  # merged, not overwritten
    assert len(first.find_accounts()) == 2
    document = json.loads(path.read_text())
    assert len(document["Account"]) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json"]  # no temp, no lock


def test_msal_extensions_reads_and_writes_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    ours = _cache(path)
    ours.add(user_event(uid="a", utid="tid"), now=NOW)
    theirs = PersistedTokenCache(FilePersistence(str(path)))
    assert len(_at(theirs, "a")) == 1
    theirs.add(user_event(uid="b", utid="tid"), now=NOW)
    assert len(_at(ours, "b")) == 1
    found = ours.find_access_token(
        home_account_id="b.tid",
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=["openid"],
        now=NOW,
    )
    assert found is not None


def test_the_persistence_adapter_drives_an_msal_extensions_persistence(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = PersistentTokenCache(PersistenceStore(FilePersistence(str(path))), clock=lambda: NOW)
    assert cache.find_accounts() == []  # no file yet: an empty cache
    cache.add(user_event(uid="a", utid="tid"), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert len(_at(_cache(path), "a")) == 1


def test_a_write_waits_for_a_live_lock_holder(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "cache.json.lockfile").write_text(f"{holder.pid} other.py")
        cache = _cache(path, lock_timeout=0.3)
        with pytest.raises(StoreLockTimeout, match="lockfile"):
            cache.add(user_event(), now=NOW)
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_is_recovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """msal-extensions' lock (it does not say where it was made): recovered once it is
    older than the grace period (tests/stores/test_lockfile_hosts.py: tokensmith's own
    is recovered at once)."""
    path = tmp_path / "cache.json"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "cache.json.lockfile").write_text(f"{gone.pid} killed.py")
    old = time.time() - lockfile.STALE_GRACE_S - 1
    os.utime(tmp_path / "cache.json.lockfile", (old, old))
    cache = _cache(path, lock_timeout=0.3)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        cache.add(user_event(), now=NOW)
    assert "stale lock" in caplog.text
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert not (tmp_path / "cache.json.lockfile").exists()


def test_a_damaged_file_is_kept_aside_and_never_loses_the_new_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.json"
    path.write_text('{"AccessToken": {"half')
    cache = _cache(path)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert cache.find_accounts() == []
        cache.add(user_event(), now=NOW)
    assert "not an MSAL cache" in caplog.text
    assert len(json.loads(path.read_text())["Account"]) == 1
    kept = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(kept) == 1 and kept[0].read_text() == '{"AccessToken": {"half'


def test_a_file_removed_behind_the_cache_is_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = _cache(path)
    cache.add(user_event(), now=NOW)
    os.remove(path)
    assert cache.find_accounts() == []


def test_an_empty_lock_is_stale_only_once_it_is_old(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    lock = tmp_path / "cache.json.lockfile"
    lock.write_bytes(b"")  # a process killed between creating the lock and writing its pid
    with pytest.raises(StoreLockTimeout, match="held by a process"):
        _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    old = time.time() - 5
    os.utime(lock, (old, old))
    _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    assert not lock.exists()


def test_a_write_merges_a_file_rewritten_with_the_same_size_inode_and_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.json"
    store = FileStore(path)
    put = EntryPut("AppMetadata", "m-a", {"client_id": "a", "family_id": "1"})
    store.apply([put])
    before = path.stat()
    text = path.read_text()
    with open(path, "r+", encoding="utf-8") as handle:  # in place, as msal-extensions
        handle.write(text.replace('"1"', '"2"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert store.version() == (before.st_mtime_ns, before.st_size, before.st_ino)
    store.apply([EntryPut("AppMetadata", "m-b", {"client_id": "b", "family_id": "3"})])
    entries = json.loads(path.read_text())["AppMetadata"]
    assert entries["m-a"]["family_id"] == "2"  # the other writer's value was read
    assert entries["m-b"]["family_id"] == "3"


# -- the document's text is json.dumps(state, indent=4), byte for byte -------------------

_SCALARS = st.one_of(
    st.sampled_from(["1", "x", "é", "a\nb", ""]),
    st.sampled_from([1, 1.0, True, False, None, 0, 2.5]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner),
    max_leaves=5,
)
_ENTRIES = st.dictionaries(st.sampled_from(["a", "b", "c"]), _SCALARS | _VALUES, max_size=4)
_SECTIONS = st.one_of(
    st.dictionaries(st.sampled_from(["k1", "k2", "k3", "k4"]), _ENTRIES | _VALUES, max_size=4),
    _VALUES,
)
_STATES = st.dictionaries(st.sampled_from(["AccessToken", "Account", "x"]), _SECTIONS)
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["AccessToken", "Account", "x", "new"]),
        st.sampled_from(["k1", "k2", "k5"]),
        st.none() | _ENTRIES,
    ),
    max_size=5,
)


def _model(state: dict[str, Any], ops: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """What the merge did before documents: the state, changed in place."""
    for name, key, entry in ops:
        section = state.get(name)
        if entry is None:
            if isinstance(section, dict):
                section.pop(key, None)
            continue
        if not isinstance(section, dict):
            section = state[name] = {}
        section[key] = entry
    return state


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_STATES, _STATES, _OPS)
def test_a_document_writes_what_json_writes(
    first: dict[str, Any], second: dict[str, Any], ops: list[tuple[str, str, Any]]
) -> None:
    earlier = Document(copy.deepcopy(first))
    assert earlier.text() == json.dumps(first, indent=4)
    # another writer's state, parsed: texts of equal entries are reused, only when exact
    document = Document(copy.deepcopy(second), earlier)
    assert document.text() == json.dumps(second, indent=4)
    for name, key, entry in ops:
        if entry is None:
            document.remove(name, key)
        else:
            document.put(name, key, copy.deepcopy(entry))
    assert document.text() == json.dumps(_model(second, ops), indent=4)


def test_a_document_reuses_no_text_of_an_equal_entry_written_differently() -> None:
    earlier = Document({"S": {"k": {"a": "1", "b": "2"}, "n": {"a": 1}}})
    earlier.text()
    later = {"S": {"k": {"b": "2", "a": "1"}, "n": {"a": True}}}  # equal, not the same
    assert Document(copy.deepcopy(later), earlier).text() == json.dumps(later, indent=4)


# -- lock files that are not a live holder's, damaged snapshots --------------------------


def test_a_dangling_link_at_the_lock_is_broken_not_spun_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Exclusive creation fails on a link to nothing, yet there is no file to read: the
    waiter used to spin at full CPU past its timeout."""
    path = tmp_path / "cache.json"
    lock = tmp_path / "cache.json.lockfile"
    os.symlink(tmp_path / "nowhere", lock)
    cache = _cache(path, lock_timeout=0.2)
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            cache.add(user_event(), now=NOW)
            outcome.append(None)
        except BaseException as exc:  # reported below
            outcome.append(exc)

    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(30)
        hung = writer.is_alive()
        if hung:
            lock.unlink()  # let a spinning writer go (so a failure does not eat a CPU)
            writer.join(30)
    assert not hung
    assert outcome == [None]
    assert "stale lock" in caplog.text
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert not os.path.lexists(lock)


def test_a_directory_at_the_lock_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    (tmp_path / "cache.json.lockfile").mkdir()
    with pytest.raises(StoreError, match="is a directory, not a lock file"):
        _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    assert (tmp_path / "cache.json.lockfile").is_dir()  # not ours to remove


@pytest.mark.parametrize("content", ["{pid} /app/main.py", "0 x", "-5 x"])
def test_a_lock_with_this_pid_or_no_pid_that_this_process_does_not_hold_is_stale(
    tmp_path: Path, content: str
) -> None:
    """A killed process's pid taken again by its restarted self (pid 1 in a container):
    its lock file is older than this process. A pid of 0 or less is no process at all,
    however young the file."""
    path = tmp_path / "cache.json"
    lock = tmp_path / "cache.json.lockfile"
    lock.write_text(content.format(pid=os.getpid()))
    if content.startswith("{pid}"):
        os.utime(lock, (1_000_000_000, 1_000_000_000))
    _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert not lock.exists()


def test_a_lock_this_process_holds_is_never_taken_as_stale(tmp_path: Path) -> None:
    """Another store on the same file, its folder spelled another way (a link to it)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with cross_process_lock(lockfile_of(tmp_path / "real" / "cache.json"), timeout=1):
        with pytest.raises(StoreLockTimeout, match=f"pid {os.getpid()}"):
            _cache(tmp_path / "alias" / "cache.json", lock_timeout=0.2).add(user_event(), now=NOW)
        assert (tmp_path / "real" / "cache.json.lockfile").exists()
    _cache(tmp_path / "alias" / "cache.json", lock_timeout=0.2).add(user_event(), now=NOW)


def test_msal_extensions_lock_taken_in_this_process_is_waited_for(tmp_path: Path) -> None:
    """Its lock file carries this pid too, but is younger than this process."""
    path = tmp_path / "cache.json"
    with CrossPlatLock(str(lockfile_of(path))):
        with pytest.raises(StoreLockTimeout, match=f"pid {os.getpid()}"):
            _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
        assert lockfile_of(path).exists()
    _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)


@pytest.mark.parametrize("lock_age", ["young", "older than the process"])
def test_without_proc_an_own_pid_lock_is_never_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock_age: str
) -> None:
    """macOS, Windows: no /proc, so when this process started is not known, and an
    msal-extensions lock taken here before tokensmith's lock module was imported (so
    older than anything that module can see) must be waited for, not broken."""
    monkeypatch.setattr(_pids, "start_from_proc", lambda: None)  # no /proc
    monkeypatch.setattr(_pids, "_started", [])
    path = tmp_path / "cache.json"
    with CrossPlatLock(str(lockfile_of(path))):
        if lock_age != "young":
            os.utime(lockfile_of(path), (1_000_000_000, 1_000_000_000))
        with pytest.raises(StoreLockTimeout, match=f"pid {os.getpid()}"):
            _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
        assert lockfile_of(path).exists()  # still msal-extensions' lock
    _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1


def _aside(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".corrupt-" in p.name)


def test_a_file_that_is_not_utf8_is_a_damaged_file_kept_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.json"
    damaged = b'{"RefreshToken": {"\xff": {"secret": "rt-damaged-secret"}}}'
    path.write_bytes(damaged)
    cache = _cache(path)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert cache.find_accounts() == []  # read as empty, as a file that is not JSON
        cache.add(user_event(), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1
    (kept,) = _aside(tmp_path)
    assert kept.read_bytes() == damaged
    assert f"kept as {kept.name}" in caplog.text
    assert "rt-damaged-secret" not in caplog.text


def test_damaged_files_in_the_same_second_are_all_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    path = tmp_path / "cache.json"
    for damage in ('{"first": ', '{"second": '):
        path.write_text(damage)
        _cache(path).add(user_event(), now=NOW)
    assert sorted(p.read_text() for p in _aside(tmp_path)) == ['{"first": ', '{"second": ']


def test_the_persistence_adapter_keeps_a_damaged_file_where_the_log_says(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """msal-extensions' FilePersistence: the damaged file used to be overwritten while the
    log named a copy that did not exist."""
    path = tmp_path / "cache.bin"
    damaged = '{"RefreshToken": {"k": {"secret": "rt-damaged-secret"}}, TRUNCATED'
    path.write_text(damaged)
    cache = PersistentTokenCache(PersistenceStore(FilePersistence(str(path))), clock=lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        cache.add(user_event(), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1
    (kept,) = _aside(tmp_path)
    assert kept.read_text() == damaged
    assert f"kept as {kept.name}" in caplog.text
    assert "rt-damaged-secret" not in caplog.text


def test_an_encrypted_persistence_says_it_did_not_keep_the_damaged_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Keyring:  # a persistence in a keyring: its location is only a signal file
        is_encrypted = True
        text = "not json"

        def load(self) -> str:
            return self.text

        def save(self, text: str) -> None:
            self.text = text

        def time_last_modified(self) -> float:
            return 1.0

        def get_location(self) -> str:
            return str(tmp_path / "signal")

    keyring = Keyring()
    cache = PersistentTokenCache(PersistenceStore(keyring), clock=lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        cache.add(user_event(), now=NOW)
    assert "Account" in json.loads(keyring.text)
    assert "damaged content is not kept" in caplog.text and "kept as" not in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_new_store_sweeps_only_its_own_dead_writers_temporaries(tmp_path: Path) -> None:
    # the temporary of cache "a.<n>" starts ".a.<n>.": for cache "a", <n> is no pid
    # (here: no running process), and that live writer's rename must still find it
    other = tmp_path / f".a.999999999.{os.getpid()}.deadbeef.tmp"
    other.write_text("{}")
    dead = tmp_path / ".a.999999999.deadbeef.tmp"  # cache "a"'s, by a process gone
    dead.write_text("{}")
    for temporary in (other, dead):  # (swept once a minute old)
        os.utime(temporary, (time.time() - 61, time.time() - 61))
    FileStore(tmp_path / "a")
    assert other.exists()
    assert not dead.exists()


class _OddPersistence:
    """A persistence whose load returns ``value`` and whose save raises ``fails``."""

    def __init__(self, location: Path, value: object, fails: Exception | None = None) -> None:
        self.location, self.value, self.fails = location, value, fails

    def load(self) -> object:
        return self.value

    def save(self, content: str) -> None:
        if self.fails is not None:
            raise self.fails
        self.value = content

    def time_last_modified(self) -> float:
        return 1.0

    def get_location(self) -> str:
        return str(self.location)


@pytest.mark.parametrize("value", [5, {"AccessToken": {}}, ["{}"]])
def test_a_persistence_that_loads_no_text_is_a_store_error(tmp_path: Path, value: object) -> None:
    store = PersistenceStore(_OddPersistence(tmp_path / "cache.json", value))
    with pytest.raises(StoreError, match=f"returned {type(value).__name__}"):
        store.load()


def test_a_persistence_failing_otherwise_than_oserror_is_a_store_error(tmp_path: Path) -> None:
    # libsecret's GLib.Error is a RuntimeError; its message is not repeated (it is the
    # backend's, and may quote what it was given)
    persistence = _OddPersistence(tmp_path / "cache.json", None, RuntimeError("at-secret"))
    cache = PersistentTokenCache(PersistenceStore(persistence), clock=lambda: NOW)
    with pytest.raises(StoreError, match=r"save\(\) raised RuntimeError") as raised:
        cache.add(user_event(), now=NOW)
    assert "at-secret" not in str(raised.value)


def test_an_empty_file_is_read_again_under_the_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """msal-extensions rewrites the file in place under its lock (truncate, then write):
    a file read empty meanwhile is not an empty cache (a CLI would ask to sign in)."""
    path = tmp_path / "cache.json"
    _cache(path).add(user_event(), now=NOW)
    store = FileStore(path, lock_timeout=0.2)
    with CrossPlatLock(str(lockfile_of(path))):
        path.write_text("")  # FilePersistence.save between its truncation and its write
        with pytest.raises(StoreLockTimeout):
            store.load()
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert store.load()[1] == {}  # empty under the lock: an empty cache
    assert "not an MSAL cache" not in caplog.text


def test_a_link_at_the_cache_path_is_written_through(tmp_path: Path) -> None:
    """As msal-extensions writes it (it opens the path): the file the link names is
    replaced, and the link stays (a cache linked into a shared folder stays shared)."""
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "cache.json"
    path = tmp_path / "cache.json"
    path.symlink_to(Path("shared") / "cache.json")
    _cache(path).add(user_event(uid="a", utid="tid"), now=NOW)
    assert path.is_symlink()
    assert len(json.loads(target.read_text())["Account"]) == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["cache.json"]
    assert len(_at(PersistedTokenCache(FilePersistence(str(target))), "a")) == 1


def test_a_lock_whose_pid_a_later_process_took_is_recovered(tmp_path: Path) -> None:
    """The holder was killed (or the machine restarted) and a process started since has
    its pid: that process does not hold the lock."""
    assert Path("/proc/self/stat").exists()  # (process starts come from /proc: Linux)
    path = tmp_path / "cache.json"
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lockfile_of(path).write_text(f"{later.pid} killed.py")
        os.utime(lockfile_of(path), (1_000_000_000, 1_000_000_000))  # before it started
        _cache(path, lock_timeout=0.3).add(user_event(uid="a", utid="tid"), now=NOW)
        assert len(_at(_cache(path), "a")) == 1
        assert not lockfile_of(path).exists()
    finally:
        later.kill()
        later.wait()


def test_a_lock_taken_over_meanwhile_is_left_to_its_new_holder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A process that could not see this one (another host on a shared folder, another
    pid namespace) broke its lock and took it: leaving, this process must not remove
    that process's lock (a third one would get in)."""
    lock = tmp_path / "cache.json.lockfile"
    with (
        caplog.at_level(logging.WARNING, logger="tokensmith"),
        cross_process_lock(lock, timeout=0.3),
    ):
        os.rename(lock, tmp_path / "broken")  # as _break_if_stale moves it away
        lock.write_text("4242 elsewhere.py")  # and the other process's exclusive create
    assert lock.read_text() == "4242 elsewhere.py"
    assert "taken over" in caplog.text


def test_a_cache_path_that_cannot_be_stat_ed_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    path.symlink_to(path)  # a loop: ELOOP, neither a file nor no file
    cache = _cache(path)
    with pytest.raises(StoreError, match=r"cannot read .*cache\.json"):
        cache.find_accounts()
    with pytest.raises(StoreError, match=r"cannot read .*cache\.json"):
        cache.add(user_event(), now=NOW)


class _UnavailableMedium:
    """A keyring that is locked (or gone): every read says so."""

    def __init__(self, location: Path) -> None:
        self.location = location

    def read(self) -> str | None:
        raise StoreUnavailableError("the keyring is locked")

    def write(self, text: str) -> None:
        raise StoreUnavailableError("the keyring is locked")

    def version(self) -> object | None:
        return 1


def test_an_unavailable_medium_is_said_at_once_not_read_again_under_the_lock(
    tmp_path: Path,
) -> None:
    """Only a read that may have met a rewrite in place is read again under the lock:
    a locked keyring says so, even while another process holds the lock."""
    store = snapshot.SnapshotStoreBase(_UnavailableMedium(tmp_path / "cache.bin"), lock_timeout=0.2)
    with (
        CrossPlatLock(str(lockfile_of(tmp_path / "cache.bin"))),
        pytest.raises(StoreUnavailableError, match="locked"),
    ):
        store.load()


class _FakeKernel32:
    """OpenProcess and GetExitCodeProcess over a table of pid -> exit code (259: still
    running; None: access denied), as Windows answers them."""

    def __init__(self, processes: dict[int, int | None]) -> None:
        self.processes, self.error, self.closed = processes, 0, 0

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        if pid not in self.processes:
            self.error = 87  # ERROR_INVALID_PARAMETER
            return 0
        if self.processes[pid] is None:
            self.error = 5  # ERROR_ACCESS_DENIED
            return 0
        return pid

    def GetExitCodeProcess(self, handle: int, code: Any) -> int:
        code._obj.value = self.processes[handle]
        return 1

    def CloseHandle(self, handle: int) -> int:
        self.closed += 1
        return 1


def test_on_windows_a_pid_is_asked_of_the_process_not_sent_signal_0() -> None:
    """On Windows os.kill(pid, 0) sends CTRL_C_EVENT (0) to the console: no probe."""
    kernel32 = _FakeKernel32({10: 259, 11: 0, 12: None})
    alive = [
        lockfile.windows_pid_alive(pid, kernel32, lambda: kernel32.error)
        for pid in (10, 11, 12, 13, 0, -1, 2**40)
    ]
    assert alive == [True, False, True, False, False, False, False]
    assert kernel32.closed == 2  # each handle opened is closed


@pytest.mark.parametrize("adapter", [False, True], ids=["FileStore", "PersistenceStore"])
def test_a_damaged_file_behind_a_link_is_kept_aside_beside_it(
    tmp_path: Path, adapter: bool
) -> None:
    """Setting the damaged file aside renames the file the link names, not the link:
    the link (and what it shares) stays."""
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "cache.json"
    target.write_text("not json")
    path = tmp_path / "cache.json"
    path.symlink_to(target)
    store = PersistenceStore(FilePersistence(str(path))) if adapter else FileStore(path)
    PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    assert path.is_symlink()
    assert len(json.loads(target.read_text())["Account"]) == 1
    (kept,) = _aside(tmp_path / "shared")
    assert kept.read_text() == "not json"


def test_an_import_over_a_damaged_file_keeps_it_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """deserialize() replaces the content, but a damaged file is still never overwritten
    unseen (it may hold the only copy of a refresh token)."""
    path = tmp_path / "cache.json"
    damaged = '{"RefreshToken": {"k": {"secret": "rt-damaged-secret"}}, TRUNCATED'
    path.write_text(damaged)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        _cache(path).deserialize('{"Account": {}}')
    assert json.loads(path.read_text()) == {"Account": {}}
    (kept,) = _aside(tmp_path)
    assert kept.read_text() == damaged
    assert f"kept as {kept.name}" in caplog.text


@pytest.mark.parametrize("location", [None, 5, b"/tmp/cache.bin"])
def test_a_persistence_without_a_path_for_location_is_a_configuration_error(
    tmp_path: Path, location: object
) -> None:
    class Nowhere(_OddPersistence):
        def get_location(self) -> Any:
            return location

    with pytest.raises(ConfigurationError, match="get_location"):
        PersistenceStore(Nowhere(tmp_path / "cache.json", None))


@pytest.mark.parametrize("timeout", [-5, float("inf"), float("nan"), "3", None, True])
def test_a_lock_timeout_that_is_no_number_of_seconds_is_a_configuration_error(
    tmp_path: Path, timeout: Any
) -> None:
    """It used to be taken, and the first write failed inside the lock code (a
    ValueError, an OverflowError, a TypeError)."""
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        FileStore(tmp_path / "cache.json", lock_timeout=timeout)


def test_a_stale_lock_that_cannot_be_moved_away_is_a_store_error(tmp_path: Path) -> None:
    """As another user's stale lock in a sticky folder (/tmp): its rename fails (here:
    the name it would be moved to is too long), which used to escape as a bare OSError
    from the first write."""
    path = tmp_path / ("c" * 230)  # its temporaries still fit in 255 bytes
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lockfile_of(path).write_text(f"{gone.pid} killed.py")
    old = time.time() - lockfile.STALE_GRACE_S - 1
    os.utime(lockfile_of(path), (old, old))
    with pytest.raises(StoreError, match=f"stale lock .* \\(pid {gone.pid}\\) cannot be removed"):
        _cache(path, lock_timeout=0.3).add(user_event(), now=NOW)
    assert lockfile_of(path).exists()


def test_a_lock_with_this_pid_is_removed_even_when_its_inode_changed(tmp_path: Path) -> None:
    """A filesystem whose inode numbers are not stable (CIFS with noserverino) must not
    make the holder leave its own lock behind (it would then wait for itself)."""
    lock = tmp_path / "cache.json.lockfile"
    with cross_process_lock(lock, timeout=0.3):
        copy = tmp_path / "copy"
        copy.write_bytes(lock.read_bytes())
        os.replace(copy, lock)  # the same lock, under another inode number
    assert not lock.exists()


@pytest.mark.parametrize("store", ["file", "dpapi"])
def test_a_fifo_at_the_cache_path_is_a_store_error_not_a_hang(tmp_path: Path, store: str) -> None:
    """Reading a named pipe waits for a writer that never comes (a device, /dev/zero,
    never ends): only a regular file is read."""
    from tests.stores.test_keychain_dpapi import FakeProtector

    from tokensmith.stores.dpapi import DpapiStore

    path = tmp_path / "cache.json"
    os.mkfifo(path)
    chosen = FileStore(path) if store == "file" else DpapiStore(path, protector=FakeProtector(b"a"))
    cache = PersistentTokenCache(chosen, clock=lambda: NOW)
    with pytest.raises(StoreError, match="not a regular file"):
        cache.find_accounts()


def test_a_lock_that_cannot_be_written_is_a_store_error(tmp_path: Path) -> None:
    """The lock file is created but its pid cannot be written (a full disk, a quota, here
    a file size limit): a StoreError, not a bare OSError, and no lock or descriptor left."""
    script = (
        "import os, resource, signal, sys\n"
        "from pathlib import Path\n"
        "from tokensmith.errors import StoreError\n"
        "from tokensmith.stores.lockfile import cross_process_lock\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "fds = len(os.listdir('/proc/self/fd'))\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))\n"
        "try:\n"
        "    with cross_process_lock(Path(sys.argv[1]), timeout=1):\n"
        "        print('held')\n"
        "except StoreError as exc:\n"
        "    print('StoreError', exc)\n"
        "print('fds', len(os.listdir('/proc/self/fd')) - fds)\n"
    )
    assert os.path.isdir("/proc/self/fd")  # (the suite runs on Linux)
    lock = tmp_path / "cache.json.lockfile"
    done = subprocess.run(
        [sys.executable, "-c", script, str(lock)], capture_output=True, text=True, check=False
    )
    assert done.stdout.splitlines() == [
        f"StoreError cannot write the lock {lock}: File too large",
        "fds 0",
    ]
    assert not lock.exists()
