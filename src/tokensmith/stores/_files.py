"""The file operations of the snapshot stores: reading and touching only regular files,
replacing a file atomically (temporary file, fsync, rename), sweeping the temporaries
killed writers left, and moving a damaged file aside.

A read or a touch opens without blocking: a named pipe at the path would otherwise wait
for a peer that may never come. On Windows a rename over a file another process holds
open fails until it closes it, so the rename is tried again for a while there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import sys
import time
from pathlib import Path
from typing import Any

from tokensmith.errors import StoreError

__all__ = [
    "NotARegularFile",
    "move_aside",
    "read_regular",
    "sweep_temporaries",
    "touch_signal_file",
    "write_atomically",
]


class NotARegularFile(StoreError):
    """Something other than a regular file is at the snapshot's path (a folder, a named
    pipe, a device): never read, and never set aside or replaced by an import."""


def read_regular(path: Path) -> bytes | None:
    """The content of the regular file at ``path`` (through links); None if there is none.

    Raises:
        NotARegularFile: a folder, or another file that is not regular (reading a named
            pipe waits for a writer that may never come, a device may never end).
        StoreError: it cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:  # (where a folder cannot be opened at all)
        raise NotARegularFile(f"cannot read {path}: not a regular file") from exc
    except OSError as exc:  # a socket cannot be opened (ENXIO), nor a device with no driver
        if not _is_regular(path):
            raise NotARegularFile(f"cannot read {path}: not a regular file") from exc
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        handle = os.fdopen(fd, "rb") if regular else None  # (a folder's fd it refuses)
    except OSError as exc:
        os.close(fd)
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
    if handle is None:
        os.close(fd)
        raise NotARegularFile(f"cannot read {path}: not a regular file")
    with handle:
        try:
            return handle.read()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}") from exc


def _is_regular(path: Path) -> bool:
    """False if ``path`` (through links) is seen to be something other than a regular
    file; True otherwise (one, or it cannot be told)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def touch_signal_file(location: Path) -> None:
    """Create the signal file (0600, empty) or set its mtime to now, as msal-extensions
    does after a save; only a regular file (through links).

    Raises:
        NotARegularFile: a folder, a named pipe (opening one to write waits for a
            reader that may never come, so it is opened without blocking), a device.
        StoreError: it cannot be created or touched.
    """
    what = f"cannot touch the signal file {location}"
    try:
        fd = os.open(location, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o600)
    except OSError as exc:  # a pipe with no reader: ENXIO; a folder: EISDIR
        if exc.errno in (errno.ENXIO, errno.EISDIR):
            raise NotARegularFile(f"{what}: not a regular file") from exc
        raise StoreError(f"{what}: {exc.strerror}") from exc
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if regular:
            os.utime(fd if os.utime in os.supports_fd else location)
    except OSError as exc:
        raise StoreError(f"{what}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if not regular:
        raise NotARegularFile(f"{what}: not a regular file")


_REPLACE_TRIES = 9
"""Renames tried on Windows while a reader holds the file open: eight waits, from 1 ms,
doubling (255 ms in all, about a quarter of a second)."""


def _replace(temp: Path, target: Path, sleep: Any = time.sleep) -> None:
    """``os.replace(temp, target)``; on Windows, tried again for a while on a sharing
    violation: a file another process has open (msal-extensions reads the cache with
    ``open()``, which does not share deletion) cannot be replaced until it closes it,
    where POSIX replaces it at once."""
    for attempt in range(_REPLACE_TRIES):
        try:
            os.replace(temp, target)
            return
        except PermissionError:
            if sys.platform != "win32" or attempt == _REPLACE_TRIES - 1:
                raise
            sleep(0.001 * 2**attempt)


_TEMP = re.compile(r"([0-9]+)\.[0-9a-f]{8}\.tmp")
"""The end of a temporary file's name, after ``.<name>.``: the writer's pid, a random part."""
_TEMP_LEFT_S = 60.0
"""A temporary file is swept once this old, and only then: a write keeps its temporary
for milliseconds, but one on another host sharing the folder (whose pid means nothing
here) may be slow, and removing its temporary would fail its rename."""


def write_atomically(target: Path, data: bytes) -> None:
    """Replace ``target``'s content with ``data`` (mode 0600): a temporary file beside
    it, fsync, rename, fsync of the folder; the temporary is removed if that fails.

    Raises:
        OSError: the temporary cannot be written, or the rename fails.
    """
    folder = target.parent
    temp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    _fsync_folder(folder)


def sweep_temporaries(target: Path) -> None:
    """Remove temporary files left by writers killed before their rename: those
    whose pid is not running here and that are :data:`_TEMP_LEFT_S` old.

    Only names exactly of :func:`write_atomically`'s form for ``target``: the temporary
    of a file ``<name>.<n>`` beside it also starts ``.<name>.``, and ``<n>`` is no pid.
    """
    from tokensmith.stores.lockfile import pid_alive

    prefix = f".{target.name}."
    left_before = time.time() - _TEMP_LEFT_S
    with contextlib.suppress(OSError):
        for name in os.listdir(target.parent):
            if not name.startswith(prefix):
                continue
            temp = _TEMP.fullmatch(name[len(prefix) :])
            if temp is None or pid_alive(int(temp[1])):
                continue
            with contextlib.suppress(OSError):
                if os.lstat(target.parent / name).st_mtime < left_before:
                    os.remove(target.parent / name)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def move_aside(path: Path, stamp: str) -> str | None:
    """Rename ``path`` to ``<name>.corrupt-<stamp>`` beside it; its new name, or None if
    there was no file.

    Raises:
        StoreError: it cannot be renamed.
    """
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot move {path} aside: {exc.strerror}") from exc
    return aside.name
