"""The lock files tokensmith in this process holds now (:mod:`tokensmith.stores.lockfile`).

A lock file is counted from its creation to its removal, by the pid that holds it and
by its folder's device and inode (whichever way the folder is spelled), so the
staleness rules (:mod:`tokensmith.stores._lock_owner`) can tell this process's own lock
from another's with the same pid: msal-extensions' lock taken in this very process, or
a killed process's pid taken again.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

__all__ = ["Key", "count", "forget", "holds"]

Key = tuple[int, int, int, str]
"""A held lock file: (pid, folder's device, folder's inode, name)."""

_held: Counter[Key] = Counter()
"""The lock files this process holds, with how many times each is counted."""
_held_lock = threading.Lock()


def count(path: Path) -> Key:
    """Count the lock file ``path`` as held by this process; its key."""
    key = _key(path)
    with _held_lock:
        _held[key] += 1
    return key


def forget(key: Key) -> None:
    """Stop counting the lock file ``key`` as held (once)."""
    with _held_lock:
        _held[key] -= 1
        if _held[key] <= 0:
            del _held[key]


def holds(path: Path) -> bool:
    """True if this process holds the lock file ``path`` now."""
    key = _key(path)
    with _held_lock:
        return _held[key] > 0 or key[1] == -1  # a folder we cannot stat: assume held


def _key(path: Path) -> Key:
    """This process's name for the lock file ``path``, whichever way the folder is
    spelled (a link to it, a relative path)."""
    try:
        folder = os.stat(path.parent)
    except OSError:
        return (os.getpid(), -1, -1, os.path.abspath(path))
    return (os.getpid(), folder.st_dev, folder.st_ino, path.name)
