"""msal-extensions' cross-process lock: a ``<cache file>.lockfile`` created exclusively.

The protocol of msal-extensions 1.3 (its ``filelock.CrossPlatLock``, the one it uses
without portalocker): a process owns the lock while the file ``<location>.lockfile``
exists and was created by it (``open(..., "x")``); it writes ``"<pid> <argv[0]>"`` into
it and deletes it when done. Waiters retry (msal-extensions every 0.25 s, for 5 s).

tokensmith takes the same file, so a tokensmith process and an msal-extensions process
exclude each other. It retries sooner (from 1 ms, doubling to 10 ms) and recovers a
lock left by a killed process: when the pid in the file is not a running process, or a
running one that started after the file was written (by :data:`REUSED_PID_MARGIN_S`:
the killed holder's pid taken again, after a reboot or in a restarted container), is
not a pid at all (0 or less), is this process's own while tokensmith in this process
does not hold that lock and the file is older than this process (a killed process's pid
taken again, as pid 1 in a restarted container; a younger one may be msal-extensions'
lock taken in this very process), or the file stayed empty for :data:`EMPTY_STALE_S`
(1 s), the file is renamed away (atomic, so two processes cannot both break it) and the
lock is taken normally. A process's start comes from ``/proc`` (Linux); where it is
not known (macOS, Windows, a process hidden from this user) a lock with a live pid is
never broken: with this process's pid it may be msal-extensions' lock taken here before
this module was imported.

Exclusive creation only ever makes a regular file, so nothing else at the lock's path is
a lock anyone holds: a dangling symbolic link is broken as a stale lock; a directory, a
link to an existing file or any other kind of file is an error that says so (it would
block msal-extensions too, and is not ours to remove).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from tokensmith._redact import logger
from tokensmith.errors import StoreError, StoreLockTimeout

__all__ = [
    "EMPTY_STALE_S",
    "REUSED_PID_MARGIN_S",
    "cross_process_lock",
    "lockfile_of",
    "pid_alive",
    "windows_pid_alive",
]

EMPTY_STALE_S = 1.0
"""A lock file still empty after this long was left by a process killed while creating
it (msal-extensions writes the pid right after creating the file)."""

REUSED_PID_MARGIN_S = 1.0
"""A live process counts as a lock's holder unless it started this long after the lock
was written (the file's time is a few milliseconds coarse, a process's start a clock
tick)."""

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

_held: Counter[tuple[int, int, int, str]] = Counter()
"""The lock files this process holds: (pid, folder's device, folder's inode, name)."""
_held_lock = threading.Lock()
_started: list[float | None] = []
"""When this process started (wall clock; None: not known), once looked up."""


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


def lockfile_of(location: str | os.PathLike[str]) -> Path:
    """The lock file msal-extensions uses beside ``location``."""
    return Path(f"{os.fspath(location)}.lockfile")


@contextlib.contextmanager
def cross_process_lock(path: Path, *, timeout: float = 10.0) -> Iterator[None]:
    """Hold the lock file ``path`` (msal-extensions' protocol) for the ``with`` body.

    Raises:
        StoreLockTimeout: a live process held it for ``timeout`` seconds.
        StoreError: the folder is not writable, or something other than a lock file is
            at ``path``.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    stamp = f"{os.getpid()} {sys.argv[0] if sys.argv else ''}".encode()
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            broken = _break_if_stale(path)
            if time.monotonic() >= deadline:
                seen = _look(path)
                who = f"pid {seen.pid}" if seen is not None and seen.pid else "a process"
                raise StoreLockTimeout(f"lock {path} held by {who} for {timeout:g} s") from None
            if not broken:
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
            continue
        except OSError as exc:
            raise StoreError(f"cannot create lock {path}: {exc.strerror}") from exc
        key = _key(path)
        with _held_lock:
            _held[key] += 1  # before the pid is written: an empty lock is never stale at once
        mine: tuple[int, int] | None = None
        try:
            try:
                with contextlib.suppress(OSError):  # as _release looks (fstat: overlayfs differs)
                    created = os.lstat(path)
                    mine = (created.st_dev, created.st_ino)
                os.write(fd, stamp)
            finally:
                os.close(fd)
        except BaseException:
            _release(path, key, mine)
            raise
        break
    try:
        yield
    finally:
        _release(path, key, mine)


def _key(path: Path) -> tuple[int, int, int, str]:
    """This process's name for the lock file ``path``, whichever way the folder is
    spelled (a link to it, a relative path)."""
    try:
        folder = os.stat(path.parent)
    except OSError:
        return (os.getpid(), -1, -1, os.path.abspath(path))
    return (os.getpid(), folder.st_dev, folder.st_ino, path.name)


def _release(path: Path, key: tuple[int, int, int, str], mine: tuple[int, int] | None) -> None:
    """Delete the lock file if it is still the one this process created (``mine``:
    its device and inode), then stop counting it as held (in that order: a lock file
    with this pid must never exist uncounted while this process holds it).

    A lock file that is another one was taken by a process that judged this one stale
    (it cannot see this process: another host on a shared folder, another pid
    namespace): it is that process's lock now, and removing it would let a third in.
    One with this pid is this process's still (a filesystem whose inode numbers are
    not stable, as CIFS with ``noserverino``): left, it would block this process.
    """
    try:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            found = os.lstat(path)
            same = mine is None or not mine[1] or (found.st_dev, found.st_ino) == mine
            if not same:
                seen = _look(path)
                same = seen is not None and seen.pid == os.getpid()
            if same:
                os.remove(path)
            else:
                logger.warning(
                    "token store: the lock %s was taken over by another process while "
                    "this one held it; left to that process",
                    path,
                )
    finally:
        with _held_lock:
            _held[key] -= 1
            if _held[key] <= 0:
                del _held[key]


def _holds(path: Path) -> bool:
    """True if this process holds the lock file ``path`` now."""
    key = _key(path)
    with _held_lock:
        return _held[key] > 0 or key[1] == -1  # a folder we cannot stat: assume held


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
    first = content.split(b" ", 1)[0]
    digits = first[1:] if first.startswith(b"-") else first
    pid = int(first) if digits.isdigit() else None  # "-5": a number, and no pid
    return _Seen("file", pid, time.time() - st.st_mtime, ident)


def _is_stale(path: Path, seen: _Seen) -> bool:
    """True if no process holds the lock file ``seen`` at ``path``."""
    if seen.kind == "dangling":
        return True
    if seen.kind != "file":
        raise StoreError(
            f"{path} is a {seen.kind}, not a lock file (neither tokensmith nor "
            "msal-extensions can lock the cache while it is there): remove it"
        )
    if seen.pid is None:
        return seen.age >= EMPTY_STALE_S
    if seen.pid <= 0:
        return True
    if seen.pid == os.getpid():
        if _holds(path):
            return False
        started = _process_start()
        # without the start time (no /proc) it may be msal-extensions' lock, taken in
        # this process at any time: never break it (pid reuse is a container's case)
        return started is not None and time.time() - seen.age < started
    if not pid_alive(seen.pid):
        return True
    # a process that started after the lock was written is not its holder: the holder
    # was killed and its pid taken again (after a reboot, in a restarted container)
    started = _start_from_proc(str(seen.pid))
    return started is not None and started > time.time() - seen.age + REUSED_PID_MARGIN_S


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


def _process_start() -> float | None:
    """When this process started, as wall-clock time (looked up once); None where that
    is not known."""
    if not _started:
        _started.append(_start_from_proc())
    return _started[0]


def _start_from_proc(pid: str = "self") -> float | None:
    """The start of process ``pid`` (this one by default) from ``/proc/<pid>/stat``
    (Linux, to a clock tick, rounded early); None without ``/proc`` (macOS, Windows),
    or when it cannot be read (the process is gone, or hidden from this user)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.time() - (since_boot - ticks)


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (this user's or another's).

    Windows asks the process itself (:func:`windows_pid_alive`): there ``os.kill(pid,
    0)`` is no probe, signal 0 being ``CTRL_C_EVENT`` (a Ctrl+C to the console's
    processes, this one included, or an error for a pid that is no process group).
    """
    if sys.platform == "win32":  # pragma: no cover - the project's machines run Linux
        import ctypes

        return windows_pid_alive(pid, _kernel32(), ctypes.get_last_error)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OverflowError:
        return False
    return True


def _kernel32() -> Any:  # pragma: no cover - Windows only
    """``kernel32`` with the three functions :func:`windows_pid_alive` calls typed
    (a handle is pointer-sized); loaded once."""
    if not _loaded:
        import ctypes

        kernel32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        kernel32.OpenProcess.restype = ctypes.c_void_p
        kernel32.OpenProcess.argtypes = (ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong)
        kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong))
        kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
        _loaded.append(kernel32)
    return _loaded[0]


_loaded: list[Any] = []
_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259
_ERROR_INVALID_PARAMETER = 87
"""``OpenProcess``' error for a pid that is no process."""


def windows_pid_alive(pid: int, kernel32: Any, last_error: Callable[[], int]) -> bool:
    """True if ``pid`` is a running process, asked through ``kernel32``
    (``OpenProcess``, ``GetExitCodeProcess``, ``CloseHandle``); ``last_error`` is
    ``ctypes.get_last_error``. A process that cannot be asked (another user's) is
    running."""
    import ctypes

    if not 0 < pid <= 0xFFFFFFFF:
        return False
    handle = kernel32.OpenProcess(_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return last_error() != _ERROR_INVALID_PARAMETER  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: wait for it, as for a live holder
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
