"""msal-extensions' cross-process lock: a ``<cache file>.lockfile`` created exclusively.

The protocol of msal-extensions 1.3 (its ``filelock.CrossPlatLock``, the one it uses
without portalocker): a process owns the lock while the file ``<location>.lockfile``
exists and was created by it (``open(..., "x")``); it writes ``"<pid> <argv[0]>"`` into
it and deletes it when done; it never reads the file back. Waiters retry
(msal-extensions every 0.25 s, for 5 s).

tokensmith takes the same file, so a tokensmith process and an msal-extensions process
exclude each other. It retries sooner (from 1 ms, doubling to 10 ms). Its own lock files
keep msal-extensions' first line and add a second one saying where the holder's pid
means something: ``tokensmith-lock/1 host=<host name> boot=<boot id> pidns=<pid
namespace> id=<random>`` (``boot`` from ``/proc/sys/kernel/random/boot_id`` and
``pidns`` from ``/proc/self/ns/pid``, Linux only; the program name is cut to 1 KiB;
``id`` is this lock's only, read back by its holder after writing: a holder paused
between creating the file and writing it may find its empty lock broken and another in
its place, and then waits as any process would). A pid only names
a process in the pid namespace of the kernel that gave it: on a folder several hosts
share (an NFS home folder) or several pid namespaces see (a volume of several
containers, a Flatpak sandbox's home folder) a live holder elsewhere looks dead or
reused here. So a lock is judged by where it was made:

* one that tokensmith made **here** (the same boot id and pid namespace; where those are
  not known, the same host name and neither known) is stale as soon as the pid rule
  below says so: a killed local holder's lock is recovered at once;
* one made **elsewhere** (another host, another boot, another pid namespace) is never
  broken by the pid rule: it is waited for, and the writer gets
  :class:`~tokensmith.errors.StoreLockTimeout` naming that holder. Only a lock from an
  earlier boot of this host (the same host name, another boot id, the file written
  before this boot) is stale: no process of that boot runs. One left by a killed holder
  in another pid namespace of this boot (a restarted container) stays until removed;
* one with no such line (msal-extensions' own, an older tokensmith's) may have been made
  anywhere: the pid rule breaks it only once the file is :data:`STALE_GRACE_S` (2 s)
  old, while a lock is held for milliseconds, so a holder elsewhere is not broken while
  it writes. An empty file, or one with no pid, is stale at that age too
  (:data:`EMPTY_STALE_S`: a holder killed between creating the file and writing it).

The pid rule: a lock is stale when its pid is not a running process, or a running one
that started after the file was written (by :data:`REUSED_PID_MARGIN_S`: the killed
holder's pid taken again, after a reboot or in a restarted container), is not a pid at
all (0 or less: stale at once, wherever made), or is this process's own while
tokensmith in this process does not hold that lock and the file is older than this
process (a killed process's pid taken again, as pid 1 in a restarted container; a
younger one may be msal-extensions' lock taken in this very process). A stale lock is
renamed away (atomic, so two processes cannot both break it) and the lock is taken
normally. A process's start comes from ``/proc`` (Linux); where it is not known (macOS,
Windows, a process hidden from this user) a lock with a live pid is never broken: with
this process's pid it may be msal-extensions' lock taken here before this module was
imported. Ages are the file's modification time against this host's clock (on NFS the
server's clock stamps the file): hosts sharing a folder must keep their clocks within
about a second of each other (NTP) for the grace period to protect a holder.

Exclusive creation only ever makes a regular file, so nothing else at the lock's path is
a lock anyone holds: a dangling symbolic link is broken as a stale lock; a directory, a
link to an existing file or any other kind of file is an error that says so (it would
block msal-extensions too, and is not ours to remove).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from tokensmith._redact import logger
from tokensmith.errors import StoreError, StoreLockTimeout

__all__ = [
    "EMPTY_STALE_S",
    "REUSED_PID_MARGIN_S",
    "STALE_GRACE_S",
    "cross_process_lock",
    "lockfile_of",
    "pid_alive",
    "windows_pid_alive",
]

STALE_GRACE_S = 2.0
"""A lock file that does not say where it was made (msal-extensions' own) is judged by
its pid only once it is this old: its holder may be on another host or in another pid
namespace, where its pid looks dead here, and a lock is held for milliseconds."""

EMPTY_STALE_S = STALE_GRACE_S
"""A lock file still empty (or with no pid) after this long was left by a process killed
while creating it (both libraries write the pid right after creating the file); younger,
it may be a holder's anywhere that has not written yet."""

REUSED_PID_MARGIN_S = 1.0
"""A live process counts as a lock's holder unless it started this long after the lock
was written (the file's time is a few milliseconds coarse, a process's start a clock
tick)."""

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_MARK = b"tokensmith-lock/1"
"""The first word of the line a tokensmith lock file says where it was made in."""
_PROGRAM_MAX = 1024
"""The most of ``argv[0]`` written (the whole file is read back in one 4 KiB read)."""

_held: Counter[tuple[int, int, int, str]] = Counter()
"""The lock files this process holds: (pid, folder's device, folder's inode, name)."""
_held_lock = threading.Lock()
_WARN_EVERY_S = 60.0
"""How often a lock that cannot be removed is warned about, at most."""
_warned: dict[str, float] = {}
"""When each lock that could not be removed was last warned about (monotonic clock)."""
_started: list[float | None] = []
"""When this process started (wall clock; None: not known), once looked up."""


class _Place(NamedTuple):
    """Where a lock was made: what gives its pid a meaning."""

    host: str
    boot: str | None
    """The kernel's boot id (Linux); None where not known."""
    pidns: str | None
    """The pid namespace, as ``/proc/self/ns/pid`` names it (Linux); None where not known."""


_places: dict[int, _Place] = {}
"""This process's place, by pid (a forked child looks it up again)."""


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
    place: _Place | None = None
    """Where the lock was made, if its file says so (tokensmith's locks)."""


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
    stamp = _stamp()
    late = False
    lost = b""  # what this call wrote into a lock of its that was moved away meanwhile
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if lost and _reads(path, lost) and not _holds(path):
                key, mine, written = _count(path), _ident(path), lost  # put back: ours
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
        key = _count(path)  # before the pid is written: an empty lock is never stale at once
        mine = None
        written = b""
        try:
            try:
                mine = _ident(path)  # as _release looks (fstat: overlayfs differs)
                written = stamp[: os.write(fd, stamp)]
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
        _forget(key)
        lost = written
    try:
        yield
    finally:
        _release(path, key, mine, written)


def _count(path: Path) -> tuple[int, int, int, str]:
    """Count the lock file ``path`` as held by this process; its key."""
    key = _key(path)
    with _held_lock:
        _held[key] += 1
    return key


def _forget(key: tuple[int, int, int, str]) -> None:
    """Stop counting the lock file ``key`` as held (once)."""
    with _held_lock:
        _held[key] -= 1
        if _held[key] <= 0:
            del _held[key]


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


def _key(path: Path) -> tuple[int, int, int, str]:
    """This process's name for the lock file ``path``, whichever way the folder is
    spelled (a link to it, a relative path)."""
    try:
        folder = os.stat(path.parent)
    except OSError:
        return (os.getpid(), -1, -1, os.path.abspath(path))
    return (os.getpid(), folder.st_dev, folder.st_ino, path.name)


def _release(
    path: Path, key: tuple[int, int, int, str], mine: tuple[int, int] | None, written: bytes
) -> None:
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
        _forget(key)


def _left_behind(path: Path, exc: OSError) -> None:
    """Say (once per :data:`_WARN_EVERY_S` for each lock) that this holder's lock could
    not be removed. Not raised: what the holder did under it (a write) is done, and
    raising would report it failed, or hide the error the ``with`` body raised."""
    now, name = time.monotonic(), os.path.abspath(path)
    with _held_lock:
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
    first = content.split(b" ", 1)[0].split(b"\n", 1)[0]
    digits = first[1:] if first.startswith(b"-") else first
    pid = int(first) if digits.isdigit() else None  # "-5": a number, and no pid
    return _Seen("file", pid, time.time() - st.st_mtime, ident, _place_of(content))


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
    if seen.place is None:  # msal-extensions': its holder may be where its pid means nothing
        return seen.age >= STALE_GRACE_S and _pid_gone(path, seen.pid, seen.age)
    here = _here()
    if _same_pids(seen.place, here):
        return _pid_gone(path, seen.pid, seen.age)
    return _of_an_earlier_boot(seen.place, here, seen.age)


def _pid_gone(path: Path, pid: int, age: float) -> bool:
    """True if the pid rule finds no holder of the lock file at ``path``, written ``age``
    seconds ago with ``pid`` (above 0), in this pid namespace."""
    if pid == os.getpid():
        if _holds(path):
            return False
        started = _process_start()
        # without the start time (no /proc) it may be msal-extensions' lock, taken in
        # this process at any time: never break it (pid reuse is a container's case)
        return started is not None and time.time() - age < started
    if not pid_alive(pid):
        return True
    # a process that started after the lock was written is not its holder: the holder
    # was killed and its pid taken again (after a reboot, in a restarted container)
    started = _start_from_proc(str(pid))
    return started is not None and started > time.time() - age + REUSED_PID_MARGIN_S


def _of_an_earlier_boot(made: _Place, here: _Place, age: float) -> bool:
    """True if a lock made at ``made`` (not this pid namespace) was made on this host
    before it booted: the same host name, another boot id, and written before this boot
    (a lock another host of the same name holds now was written after it)."""
    if made.host != here.host or made.boot is None or here.boot in (None, made.boot):
        return False
    try:
        booted = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, AttributeError):
        return False
    return time.time() - age < booted - REUSED_PID_MARGIN_S


def _timed_out(path: Path, timeout: float) -> str:
    """What a :class:`StoreLockTimeout` says: the holder, and where it was made if that
    is elsewhere (a lock no waiter here will ever break)."""
    seen = _look(path)
    if seen is None or not seen.pid:
        return f"lock {path} held by a process for {timeout:g} s"
    said = f"lock {path} held by pid {seen.pid} for {timeout:g} s"
    made, here = seen.place, _here()
    if made is None or _same_pids(made, here):
        return said
    if made.host != here.host:
        where = f"on host {made.host}"
    elif made.boot != here.boot:
        where = f"on host {made.host} in another boot (or another host of that name)"
    else:
        where = "in another pid namespace of this host (another container, a sandbox)"
    return f"{said}, {where}: such a lock is never broken here; if its holder is gone, remove it"


def _stamp() -> bytes:
    """What a call writes into a lock file it made: msal-extensions' ``"<pid>
    <argv[0]>"``, then the line that says where the pid means something, with an ``id``
    no other lock has (a holder reads it back to know the file is still its own)."""
    program = os.fsencode(sys.argv[0]) if sys.argv else b""
    place = _here()
    words = [_MARK, b"host=" + _quoted(place.host)]
    if place.boot is not None:
        words.append(b"boot=" + _quoted(place.boot))
    if place.pidns is not None:
        words.append(b"pidns=" + _quoted(place.pidns))
    words.append(b"id=" + secrets.token_hex(8).encode("ascii"))  # this lock's, of all
    return b"%d %s\n%s\n" % (os.getpid(), program[:_PROGRAM_MAX], b" ".join(words))


def _quoted(value: str) -> bytes:
    return quote(value, safe=":[]").encode("ascii")


def _place_of(content: bytes) -> _Place | None:
    """Where the lock file ``content`` says it was made; None if it does not say (not
    tokensmith's, or cut short)."""
    lines = content.rstrip(b"\n").split(b"\n")
    words = lines[-1].split(b" ")
    if len(lines) < 2 or words[0] != _MARK:
        return None
    fields: dict[bytes, str] = {}
    for word in words[1:]:
        key, equals, value = word.partition(b"=")
        if not equals or not value.isascii():
            return None
        try:
            fields[key] = unquote(value.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            return None
    host = fields.get(b"host")
    return None if host is None else _Place(host, fields.get(b"boot"), fields.get(b"pidns"))


def _here() -> _Place:
    """Where this process's pids mean something (looked up once per process)."""
    pid = os.getpid()
    place = _places.get(pid)
    if place is None:
        boot: str | None = None
        pidns: str | None = None
        with (
            contextlib.suppress(OSError, UnicodeDecodeError),
            open("/proc/sys/kernel/random/boot_id", "rb") as handle,
        ):
            boot = handle.read().decode("ascii").strip() or None
        with contextlib.suppress(OSError, AttributeError):
            pidns = os.readlink("/proc/self/ns/pid") or None
        place = _places.setdefault(pid, _Place(socket.gethostname(), boot, pidns))
    return place


def _same_pids(made: _Place, here: _Place) -> bool:
    """True if a pid in a lock made at ``made`` names a process here: the same boot and
    pid namespace, or where those are not known the same host and neither known."""
    if None not in (made.boot, made.pidns, here.boot, here.pidns):
        return (made.boot, made.pidns) == (here.boot, here.pidns)
    return made == here


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
