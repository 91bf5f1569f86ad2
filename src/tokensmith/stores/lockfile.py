"""msal-extensions' cross-process lock: a ``<cache file>.lockfile`` created exclusively.

The protocol of msal-extensions 1.3 (its ``filelock.CrossPlatLock``, the one it uses
without portalocker): a process owns the lock while the file ``<location>.lockfile``
exists and was created by it (``open(..., "x")``); it writes ``"<pid> <argv[0]>"`` into
it and deletes it when done. Waiters retry (msal-extensions every 0.25 s, for 5 s).

tokensmith takes the same file, so a tokensmith process and an msal-extensions process
exclude each other. It retries sooner (from 1 ms, doubling to 10 ms) and recovers a
lock left by a killed process: when the pid in the file is not a running process (or
the file stayed empty for :data:`EMPTY_STALE_S`, 1 s), the file is renamed away (atomic, so
two processes cannot both break it) and the lock is taken normally.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tokensmith._redact import logger
from tokensmith.errors import StoreError, StoreLockTimeout

__all__ = ["EMPTY_STALE_S", "cross_process_lock", "lockfile_of", "pid_alive"]

EMPTY_STALE_S = 1.0
"""A lock file still empty after this long was left by a process killed while creating
it (msal-extensions writes the pid right after creating the file)."""


def lockfile_of(location: str | os.PathLike[str]) -> Path:
    """The lock file msal-extensions uses beside ``location``."""
    return Path(f"{os.fspath(location)}.lockfile")


@contextlib.contextmanager
def cross_process_lock(path: Path, *, timeout: float = 10.0) -> Iterator[None]:
    """Hold the lock file ``path`` (msal-extensions' protocol) for the ``with`` body.

    Raises:
        StoreLockTimeout: a live process held it for ``timeout`` seconds.
        StoreError: the folder is not writable.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    stamp = f"{os.getpid()} {sys.argv[0] if sys.argv else ''}".encode()
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if _break_if_stale(path):
                continue
            if time.monotonic() >= deadline:
                holder = _holder(path)
                who = f"pid {holder[0]}" if holder and holder[0] else "a process"
                raise StoreLockTimeout(f"lock {path} held by {who} for {timeout:g} s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
            continue
        except OSError as exc:
            raise StoreError(f"cannot create lock {path}: {exc.strerror}") from exc
        try:
            os.write(fd, stamp)
        finally:
            os.close(fd)
        break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.remove(path)


def _holder(path: Path) -> tuple[int | None, float] | None:
    """``(pid or None, age in seconds)`` of the lock file, None if it is gone."""
    try:
        with open(path, "rb") as handle:
            content = handle.read(4096)
            age = time.time() - os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return None
    except OSError:
        return (None, 0.0)
    first = content.split(b" ", 1)[0]
    return (int(first) if first.isdigit() else None, age)


def _break_if_stale(path: Path) -> bool:
    """Remove the lock file if its holder is gone; True if the caller should retry."""
    holder = _holder(path)
    if holder is None:
        return True
    pid, age = holder
    if pid is None:
        if age < EMPTY_STALE_S:
            return False
    elif pid == os.getpid() or pid_alive(pid):
        return False
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # another waiter broke it first
    moved = _holder(aside)
    if moved is not None and moved[0] != pid:
        # a fresh lock was created between our look and the rename: put it back
        # (link fails if yet another process holds the name by now)
        with contextlib.suppress(OSError):
            os.link(aside, path)
    with contextlib.suppress(OSError):
        os.remove(aside)
    logger.warning("token store: removed the stale lock %s (pid %s)", path, pid)
    return True


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (this user's or another's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OverflowError:
        return False
    return True
