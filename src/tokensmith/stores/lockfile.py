"""msal-extensions' cross-process lock: a ``<cache file>.lockfile`` created exclusively.

The protocol of msal-extensions 1.3 (its ``filelock.CrossPlatLock``, the one it uses
without portalocker): a process owns the lock while the file ``<location>.lockfile``
exists and was created by it (``open(..., "x")``); it writes ``"<pid> <argv[0]>"`` into
it and deletes it when done; it never reads the file back. Waiters retry
(msal-extensions every 0.25 s, for 5 s).

tokensmith takes the same file, so a tokensmith process and an msal-extensions process
exclude each other. It retries sooner (from 1 ms, doubling to 10 ms). Its own lock files
keep msal-extensions' first line and add a second one saying where the holder's pid
means something, with an ``id`` that is this lock's only, read back by its holder after
writing: a holder paused between creating the file and writing it may find its empty
lock broken and another in its place, and then waits as any process would.

A lock whose holder is gone is stale: :mod:`tokensmith.stores._lock_owner` says when,
from where the lock was made and from its pid (a lock made on another host, in another
boot or another pid namespace is waited for, never broken by its pid). A stale lock is
renamed away (atomic, so two processes cannot both break it) and the lock is taken
normally.

Exclusive creation only ever makes a regular file, so nothing else at the lock's path is
a lock anyone holds: a dangling symbolic link is broken as a stale lock; a directory, a
link to an existing file or any other kind of file is an error that says so (it would
block msal-extensions too, and is not ours to remove).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from tokensmith._redact import logger
from tokensmith.errors import StoreError, StoreLockTimeout
from tokensmith.stores._lock_held import Key, count, forget, holds
from tokensmith.stores._lock_owner import (
    EMPTY_STALE_S,
    REUSED_PID_MARGIN_S,
    STALE_GRACE_S,
    Place,
    elsewhere,
    holder_gone,
    pid_of,
    place_of,
    stamp,
)
from tokensmith.stores._pids import pid_alive, windows_pid_alive

__all__ = [
    "EMPTY_STALE_S",
    "LOCK_TIMEOUT_S",
    "REUSED_PID_MARGIN_S",
    "STALE_GRACE_S",
    "cross_process_lock",
    "lockfile_of",
    "pid_alive",
    "windows_pid_alive",
]

LOCK_TIMEOUT_S = 10.0
"""How long a store waits for the lock file by default (its ``lock_timeout``), in
seconds."""
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_WARN_EVERY_S = 60.0
"""How often a lock that cannot be removed is warned about, at most."""
_warned: dict[str, float] = {}
"""When each lock that could not be removed was last warned about (monotonic clock)."""
_warned_lock = threading.Lock()


class _Seen(NamedTuple):
    """What is at the lock's path."""

    kind: str
    """``"file"``, ``"dangling"`` (a link to nothing) or what else it is."""
    pid: int | None
    """The pid written in a lock file; None if empty, not a number, or unreadable."""
    age: float
    """Seconds since the file was last written (0 when it could not be read)."""
    ident: tuple[int, int, int]
    """(inode, mtime in ns, size): tells a fresh lock from the one looked at."""
    place: Place | None = None
    """Where the lock was made, if its file says so (tokensmith's locks)."""


def lockfile_of(location: str | os.PathLike[str]) -> Path:
    """The lock file msal-extensions uses beside ``location``."""
    return Path(f"{os.fspath(location)}.lockfile")


@contextlib.contextmanager
def cross_process_lock(path: Path, *, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock file ``path`` (msal-extensions' protocol) for the ``with`` body.

    Raises:
        StoreLockTimeout: a live process held it for ``timeout`` seconds.
        StoreError: the folder is not writable, or something other than a lock file is
            at ``path``.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    content = stamp()
    late = False
    lost = b""  # what this call wrote into a lock of its that was moved away meanwhile
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if lost and _reads(path, lost) and not holds(path):
                key, mine, written = count(path), _ident(path), lost  # put back: ours
                break
            broken = _break_if_stale(path)
            if time.monotonic() >= deadline:
                if late or not broken:
                    raise StoreLockTimeout(_timed_out(path, timeout)) from None
                late = True  # one more try past the deadline: the lock was just broken
            if not broken:
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
            continue
        except OSError as exc:
            raise StoreError(f"cannot create lock {path}: {exc.strerror}") from exc
        key = count(path)  # before the pid is written: an empty lock is never stale at once
        mine = None
        written = b""
        try:
            try:
                mine = _ident(path)  # as _release looks (fstat: overlayfs differs)
                written = content[: os.write(fd, content)]
                # read back while still open: its inode number cannot be another's yet
                ours = _reads(path, written)
                if ours is None:  # unreadable (another user's lock in its place?)
                    ours = mine is None or _ident(path) == mine
            finally:
                os.close(fd)
        except OSError as exc:  # a full disk, a quota: created, but no pid in it
            _release(path, key, mine, written)
            raise StoreError(f"cannot write the lock {path}: {exc.strerror}") from exc
        except BaseException:
            _release(path, key, mine, written)
            raise
        if ours:
            break
        # broken as an empty lock before the pid was written (this process was paused
        # past EMPTY_STALE_S): another's now, or it may yet be put back (_break_if_stale)
        forget(key)
        lost = written
    try:
        yield
    finally:
        _release(path, key, mine, written)


def _ident(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path`` (not following a link); None if
    that cannot be told."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _reads(path: Path, written: bytes) -> bool | None:
    """True if the lock file at ``path`` holds ``written`` (this call's stamp: another
    lock does not); False if it holds something else or is gone; None if it cannot be
    read."""
    try:
        fd = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        return os.read(fd, len(written) + 1) == written
    except OSError:
        return None
    finally:
        os.close(fd)


def _release(path: Path, key: Key, mine: tuple[int, int] | None, written: bytes) -> None:
    """Delete the lock file if it is still the one this process created (holding
    ``written``, what this call wrote in it; where it cannot be read or nothing was
    written, ``mine``: its device and inode), then stop counting it as held (in that
    order: a lock file with this pid must never exist uncounted while this process
    holds it).

    A lock file that is another one was taken by a process that judged this one stale
    (it cannot see this process: another host on a shared folder, another pid
    namespace): it is that process's lock now, and removing it would let a third in.
    One holding what this call wrote is this process's still (a filesystem whose inode
    numbers are not stable, as CIFS with ``noserverino``): left, it would block this
    process. One with this pid and not this call's id is another's: msal-extensions'
    lock taken in this process, or a process with this pid in another namespace. So is
    one at this lock's device and inode holding something else: a file system reuses a
    freed inode number (ext4 at once), so the lock of the process that broke this one
    and took the lock may have it.

    A lock that cannot be looked at or removed (no permission on its folder, a
    read-only remount, an I/O error, its folder replaced) is warned about, not raised.
    """
    try:
        found = os.lstat(path)
        same = _reads(path, written) if written else None  # b"": says nothing
        if same is None:  # unreadable: judged by the device and inode it had
            same = mine is None or not mine[1] or (found.st_dev, found.st_ino) == mine
        if same:
            os.remove(path)
        else:
            logger.warning(
                "token store: the lock %s was taken over by another process while "
                "this one held it; left to that process",
                path,
            )
    except FileNotFoundError:
        pass
    except OSError as exc:  # no permission, a read-only remount, an I/O error, ...
        _left_behind(path, exc)
    finally:
        forget(key)


def _left_behind(path: Path, exc: OSError) -> None:
    """Say (once per :data:`_WARN_EVERY_S` for each lock) that this holder's lock could
    not be removed. Not raised: what the holder did under it (a write) is done, and
    raising would report it failed, or hide the error the ``with`` body raised."""
    now, name = time.monotonic(), os.path.abspath(path)
    with _warned_lock:
        last = _warned.get(name)
        if last is not None and now - last < _WARN_EVERY_S:
            return
        _warned[name] = now
    logger.warning(
        "token store: the lock %s cannot be removed (%s): until it is, every writer "
        "(tokensmith's, msal-extensions') waits for it and fails; remove it",
        path,
        exc.strerror or exc,
    )


def _look(path: Path) -> _Seen | None:
    """What is at ``path`` (not following a link); None if nothing is."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return _Seen("file", None, 0.0, (0, 0, 0))  # cannot tell: a live holder's
    ident = (st.st_ino, st.st_mtime_ns, st.st_size)
    if stat.S_ISLNK(st.st_mode):
        return _Seen("link" if os.path.exists(path) else "dangling", None, 0.0, ident)
    if not stat.S_ISREG(st.st_mode):
        return _Seen("directory" if stat.S_ISDIR(st.st_mode) else "special", None, 0.0, ident)
    try:
        fd = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    except FileNotFoundError:
        return None
    except OSError:
        return _Seen("file", None, 0.0, ident)  # unreadable (another user's): held
    try:
        content = os.read(fd, 4096)
    except OSError:
        content = b""
    finally:
        os.close(fd)
    age = time.time() - st.st_mtime
    return _Seen("file", pid_of(content), age, ident, place_of(content))


def _is_stale(path: Path, seen: _Seen) -> bool:
    """True if no process holds the lock file ``seen`` at ``path``."""
    if seen.kind == "dangling":
        return True
    if seen.kind != "file":
        raise StoreError(
            f"{path} is a {seen.kind}, not a lock file (neither tokensmith nor "
            "msal-extensions can lock the cache while it is there): remove it"
        )
    return holder_gone(path, seen.pid, seen.age, seen.place)


def _timed_out(path: Path, timeout: float) -> str:
    """What a :class:`StoreLockTimeout` says: the holder, and where it was made if that
    is elsewhere (a lock no waiter here will ever break)."""
    seen = _look(path)
    if seen is None or not seen.pid:
        return f"lock {path} held by a process for {timeout:g} s"
    said = f"lock {path} held by pid {seen.pid} for {timeout:g} s"
    where = elsewhere(seen.place)
    if where is None:
        return said
    return f"{said}, {where}: such a lock is never broken here; if its holder is gone, remove it"


def _break_if_stale(path: Path) -> bool:
    """Remove the lock file if its holder is gone; True if the caller should retry."""
    seen = _look(path)
    if seen is None:
        return True
    if not _is_stale(path, seen):
        return False
    what = "a link to nothing" if seen.kind == "dangling" else f"pid {seen.pid}"
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # another waiter broke it first
    except OSError as exc:  # another user's, in a sticky folder (/tmp): no waiting ends it
        raise StoreError(
            f"the stale lock {path} ({what}) cannot be removed: {exc.strerror}; remove it"
        ) from exc
    moved = _look(aside)
    fresh = moved is not None and (moved.ident, moved.pid) != (seen.ident, seen.pid)
    if fresh and moved is not None and moved.kind == "file":
        # a fresh lock was created between our look and the rename: put it back
        # (link fails if yet another process holds the name by now)
        with contextlib.suppress(OSError):
            os.link(aside, path)
    with contextlib.suppress(OSError):
        os.remove(aside)
    logger.warning("token store: removed the stale lock %s (%s)", path, what)
    return True
