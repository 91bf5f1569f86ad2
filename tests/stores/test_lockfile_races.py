"""The lock file's hand-over: what a holder removes when it leaves, and what it says
when it cannot remove its lock."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tokensmith.stores.lockfile import cross_process_lock


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
