"""The lock file's hand-over: what a holder removes when it leaves, and what it says
when it cannot remove its lock."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import pytest

from tokensmith.errors import StoreLockTimeout
from tokensmith.stores import FileStore, _lock_held, _lock_owner, lockfile
from tokensmith.stores.lockfile import cross_process_lock, lockfile_of


def test_a_lock_of_anothers_at_this_holders_inode_number_is_left_to_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """This holder's lock was broken (renamed away, removed) and another process took
    the lock; ext4 gives the new file the freed inode number, so device and inode match
    what this holder created. Its content (another id) says it is not this holder's:
    removing it would let a third process in beside its live holder. (Written in place
    here: the same inode, deterministically.)"""
    lock = tmp_path / "cache.json.lockfile"
    other = b"4242 other.py\ntokensmith-lock/1 host=h id=0123456789abcdef\n"
    with (
        caplog.at_level(logging.WARNING, logger="tokensmith"),
        cross_process_lock(lock, timeout=1),
        open(lock, "r+b") as handle,
    ):
        handle.truncate()
        handle.write(other)
    assert lock.read_bytes() == other
    assert "taken over" in caplog.text


def _remove_failing(monkeypatch: pytest.MonkeyPatch, lock: Path, error: int) -> None:
    """``os.remove`` of ``lock`` fails with ``error`` (the test itself unlinks it)."""
    remove = os.remove

    def failing(path: str | os.PathLike[str]) -> None:
        if os.fspath(path) == os.fspath(lock):
            raise OSError(error, os.strerror(error), os.fspath(path))
        remove(path)

    monkeypatch.setattr(os, "remove", failing)


def test_a_lock_left_for_lack_of_permission_is_warned_about_once_in_a_while(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock cannot be removed for lack of permission (its folder made read-only
    while held; a Windows reader holding it open): it stays, with this pid, and every
    later writer waits lock_timeout for it and fails. Said with the lock's name, once
    for a burst of writes rather than at each."""
    lock = tmp_path / "cache.json.lockfile"
    _remove_failing(monkeypatch, lock, errno.EACCES)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        for _ in range(2):
            with cross_process_lock(lock, timeout=1):
                pass
            assert lock.exists()
            assert not _lock_held.holds(lock)
            lock.unlink()  # by hand, as the warning says
    said = [r.getMessage() for r in caplog.records if "cannot be removed" in r.getMessage()]
    assert said == [
        f"token store: the lock {lock} cannot be removed (Permission denied): until it is, "
        "every writer (tokensmith's, msal-extensions') waits for it and fails; remove it"
    ]


def test_a_write_under_a_lock_that_cannot_be_removed_is_no_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache file is written, then the lock cannot be removed (an I/O error): the
    write landed, so the store does not report it failed."""
    path = tmp_path / "cache.json"
    store = FileStore(path)
    _remove_failing(monkeypatch, lockfile_of(path), errno.EIO)
    store.replace_all({"AccessToken": {}})
    assert json.loads(path.read_text()) == {"AccessToken": {}}


def test_a_holder_that_cannot_read_back_the_lock_in_its_place_does_not_hold_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This holder paused between creating its lock and writing it; another process
    broke the empty lock and took the lock with a file this one cannot read (root's,
    0600, in a folder a user shares with sudo: a real two-user probe saw both hold).
    Unreadable and at another inode, it is not this holder's: it waits."""
    lock = tmp_path / "cache.json.lockfile"
    theirs = b"%d" % os.getppid() + _lock_owner.stamp().split(b" ", 1)[1]  # a live holder
    write, reads = os.write, lockfile._reads

    def paused_write(fd: int, data: bytes) -> int:
        if not (tmp_path / "aside").exists():
            os.rename(lock, tmp_path / "aside")  # the breaker, then its own lock
            made = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            write(made, theirs)
            os.close(made)
        return write(fd, data)

    def unreadable(path: Path, written: bytes) -> bool | None:
        return None if path.read_bytes() == theirs else reads(path, written)

    monkeypatch.setattr(os, "write", paused_write)
    monkeypatch.setattr(lockfile, "_reads", unreadable)
    entered = False
    with pytest.raises(StoreLockTimeout), cross_process_lock(lock, timeout=0):
        entered = True
    assert not entered
    assert lock.read_bytes() == theirs
    assert not _lock_held.holds(lock)
