"""The lock file on storage several hosts or pid namespaces share (an NFS home folder, a
volume of several containers): a pid means something only where it was given."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import StoreLockTimeout
from tokensmith.stores import FileStore, PersistentTokenCache, _lock_held, _lock_owner
from tokensmith.stores.lockfile import cross_process_lock, lockfile_of

OTHER_BOOT = "00000000-0000-4000-8000-000000000000"
LONG_AGO = 1_000_000_000  # 2001: before any boot of this machine, past any grace period


def _cache(path: Path, **kwargs: float) -> PersistentTokenCache:
    return PersistentTokenCache(FileStore(path, **kwargs), clock=lambda: NOW)


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def _lock_made(lock: Path, pid: int, *, host: str, boot: str, pidns: str, at: float) -> bytes:
    """A lock file as tokensmith writes it, made at another place."""
    content = f"{pid} app.py\ntokensmith-lock/1 host={host} boot={boot} pidns={pidns}\n".encode()
    lock.write_bytes(content)
    os.utime(lock, (at, at))
    return content


def test_a_lock_tokensmith_makes_starts_as_msal_extensions_and_says_where(tmp_path: Path) -> None:
    lock = tmp_path / "cache.json.lockfile"
    with cross_process_lock(lock, timeout=1):
        first, second = lock.read_bytes().decode().splitlines()
    assert first == f"{os.getpid()} {sys.argv[0]}"
    here = _lock_owner.here()
    words = dict(word.split("=", 1) for word in second.split()[1:])
    assert second.split()[0] == "tokensmith-lock/1"
    assert words["host"] == here.host
    if os.path.exists("/proc/self/ns/pid"):
        assert words["pidns"] == os.readlink("/proc/self/ns/pid")
        with open("/proc/sys/kernel/random/boot_id") as handle:
            assert words["boot"] == handle.read().strip()


_KILLED_HOLDER = (
    "import os, sys; from pathlib import Path\n"
    "from tokensmith.stores.lockfile import cross_process_lock\n"
    "with cross_process_lock(Path(sys.argv[1])):\n"
    "    os._exit(0)\n"
)


def _killed_holder(path: Path) -> None:
    """A tokensmith process here that takes the lock of ``path`` and dies holding it."""
    subprocess.run([sys.executable, "-c", _KILLED_HOLDER, str(lockfile_of(path))], check=True)


def test_a_killed_tokensmith_holders_lock_here_is_recovered_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Made here (this boot, this pid namespace), its pid is to be trusted: no grace."""
    path = tmp_path / "cache.json"
    _killed_holder(path)
    assert lockfile_of(path).exists()  # left by its holder, just now
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        _cache(path, lock_timeout=0.3).add(user_event(), now=NOW)
    assert "stale lock" in caplog.text
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert not lockfile_of(path).exists()


@pytest.mark.parametrize("pid_here", ["dead", "reused"])
@pytest.mark.parametrize("made", ["another host", "another pid namespace", "another boot, now"])
def test_a_lock_made_elsewhere_is_waited_for_whatever_its_pid_looks_like_here(
    tmp_path: Path, made: str, pid_here: str
) -> None:
    """Its holder may be alive where its pid means something: its lock is never broken
    here (the writer times out, as msal-extensions' does), however old the file."""
    here = _lock_owner.here()
    place = {
        "another host": ("db2", OTHER_BOOT, "pid:[4026531836]", LONG_AGO),
        "another pid namespace": (here.host, here.boot or OTHER_BOOT, "pid:[1]", LONG_AGO),
        # written after this boot: another host of the same name holds it
        "another boot, now": (here.host, OTHER_BOOT, "pid:[4026531836]", time.time()),
    }[made]
    path = tmp_path / "cache.json"
    lock = lockfile_of(path)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pid = _dead_pid() if pid_here == "dead" else live.pid  # reused: started after
        content = _lock_made(lock, pid, host=place[0], boot=place[1], pidns=place[2], at=place[3])
        with pytest.raises(StoreLockTimeout, match=f"pid {pid} .*never broken here"):
            _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    finally:
        live.kill()
        live.wait()
    assert lock.read_bytes() == content
    assert not path.exists()


def test_a_lock_from_an_earlier_boot_of_this_host_is_recovered(tmp_path: Path) -> None:
    """No process of that boot runs any more (a crash left the lock on a local disk)."""
    here = _lock_owner.here()
    assert here.boot is not None  # (the suite runs on Linux, which has a boot id)
    path = tmp_path / "cache.json"
    _lock_made(
        lockfile_of(path),
        _dead_pid(),
        host=here.host,
        boot=OTHER_BOOT,
        pidns="pid:[1]",
        at=LONG_AGO,
    )
    _cache(path, lock_timeout=0.3).add(user_event(), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert not lockfile_of(path).exists()


def test_msal_extensions_lock_with_a_dead_pid_is_waited_for_while_young(tmp_path: Path) -> None:
    """It does not say where it was made: its holder may be on another host, where its
    pid looks dead here, writing now. Once older than the grace period it is broken
    (tests/stores/test_file.py::test_a_lock_left_by_a_killed_process_is_recovered)."""
    path = tmp_path / "cache.json"
    pid = _dead_pid()
    lockfile_of(path).write_text(f"{pid} /usr/bin/az")
    with pytest.raises(StoreLockTimeout, match=f"held by pid {pid} for"):
        _cache(path, lock_timeout=0.2).add(user_event(), now=NOW)
    assert lockfile_of(path).read_text() == f"{pid} /usr/bin/az"
    assert not path.exists()


def test_a_lock_taken_over_by_this_pid_in_another_namespace_is_left_to_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same pid is another process there (pid 1 of two containers): removing its
    lock at release would let a third process in beside it."""
    here = _lock_owner.here()
    lock = tmp_path / "cache.json.lockfile"
    with caplog.at_level(logging.WARNING, logger="tokensmith"), cross_process_lock(lock, timeout=1):
        taken = tmp_path / "taken"
        content = _lock_made(
            taken,
            os.getpid(),
            host=here.host,
            boot=here.boot or "",
            pidns="pid:[1]",
            at=time.time(),
        )
        os.replace(taken, lock)  # another inode: that process's lock now
    assert lock.read_bytes() == content
    assert "taken over" in caplog.text


def test_a_killed_holders_lock_is_recovered_even_with_no_time_to_wait(tmp_path: Path) -> None:
    """lock_timeout 0 (or a deadline reached as the stale lock is broken): the lock just
    broken is taken, not a StoreLockTimeout with no holder left."""
    path = tmp_path / "cache.json"
    _killed_holder(path)
    _cache(path, lock_timeout=0).add(user_event(), now=NOW)
    assert len(json.loads(path.read_text())["Account"]) == 1
    assert not lockfile_of(path).exists()


def test_a_holder_whose_empty_lock_was_broken_before_it_wrote_does_not_hold_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder paused between creating the lock and writing its pid (stopped, swapped
    out) for longer than the grace period: another process breaks the empty lock and
    takes its own. Writing its pid afterwards does not make the first a holder too."""
    lock = tmp_path / "cache.json.lockfile"
    other = (
        "import sys; from pathlib import Path\n"
        "from tokensmith.stores.lockfile import cross_process_lock\n"
        "with cross_process_lock(Path(sys.argv[1]), timeout=5):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    breaker: list[subprocess.Popen[str]] = []
    key = _lock_held._key

    def paused(path: Path) -> tuple[int, int, int, str]:  # right after the lock's creation
        if not breaker:
            os.utime(lock, (LONG_AGO, LONG_AGO))  # empty, past the grace period
            breaker.append(
                subprocess.Popen(
                    [sys.executable, "-c", other, str(lock)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            assert breaker[0].stdout is not None
            assert breaker[0].stdout.readline() == "held\n"
        return key(path)

    monkeypatch.setattr(_lock_held, "_key", paused)
    try:
        with pytest.raises(StoreLockTimeout), cross_process_lock(lock, timeout=0.2):
            pytest.fail("held at once with the process that broke its empty lock")
        assert lock.read_bytes().startswith(f"{breaker[0].pid} ".encode())
    finally:
        for process in breaker:
            process.communicate("\n")
    assert not lock.exists()


def test_msal_extensions_lock_with_this_pid_taken_meanwhile_is_left_to_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """This process's lock was taken over, then msal-extensions in this very process
    took the lock ('<pid> <argv0>', this pid): it is not the lock this holder wrote."""
    lock = tmp_path / "cache.json.lockfile"
    with caplog.at_level(logging.WARNING, logger="tokensmith"), cross_process_lock(lock, timeout=1):
        taken = tmp_path / "taken"
        taken.write_text(f"{os.getpid()} app.py")
        os.replace(taken, lock)  # another inode
    assert lock.read_text() == f"{os.getpid()} app.py"
    assert "taken over" in caplog.text


def test_a_lock_that_cannot_be_removed_at_release_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving, the lock cannot be looked at or removed (here its folder was replaced by
    a file; a read-only remount, an I/O error): no OSError out of the with block (what
    was done under the lock is done), a warning naming the lock, and it stops counting
    as held."""
    folder = tmp_path / "cache"
    folder.mkdir()
    lock = folder / "cache.json.lockfile"
    with caplog.at_level(logging.WARNING, logger="tokensmith"), cross_process_lock(lock):
        folder.rename(tmp_path / "moved")
        folder.write_text("not a folder")
    assert f"the lock {lock} cannot be removed" in caplog.text
    assert not _lock_held.holds(tmp_path / "moved" / "cache.json.lockfile")
