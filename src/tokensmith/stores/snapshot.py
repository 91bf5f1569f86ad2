"""Snapshot stores: the whole cache as MSAL's JSON, shared with msal-extensions.

A write takes msal-extensions' lock file (:mod:`tokensmith.stores.lockfile`), reads
the latest snapshot, merges the changed entries into it and saves it, so two processes
(tokensmith or msal-extensions) writing at once lose nothing. Where the snapshot is
kept is a *medium*: a plain file written atomically (:class:`FileMedium`), any
msal-extensions persistence object (:class:`PersistenceMedium`), the Secret Service
(:mod:`tokensmith.stores.secretservice`).

A store keeps the text it last wrote with its document
(:mod:`tokensmith.stores._document`): when the medium still holds that text (compared,
not stat'ed) the merge starts from it without parsing, and a save encodes only the
entries that changed.

A read needs no lock: the file is replaced atomically by tokensmith, but
msal-extensions' ``FilePersistence`` rewrites it in place (under its lock), so a read
that does not parse is done again under the lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from tokensmith._redact import logger
from tokensmith.cache.buckets import gc_paused
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.errors import (
    ConfigurationError,
    StoreError,
    StoreLockTimeout,
    StoreUnavailableError,
)
from tokensmith.stores._document import Document
from tokensmith.stores.lockfile import cross_process_lock, lockfile_of

__all__ = [
    "DamagedSnapshot",
    "FileMedium",
    "FileStore",
    "Medium",
    "NotARegularFile",
    "PersistenceMedium",
    "PersistenceStore",
    "decode_snapshot",
    "read_regular",
    "touch_signal_file",
]

Versions = tuple[object | None, object | None]
_MAX_LOCK_TIMEOUT = 2_000_000
"""Seconds (23 days): past it, a wait is no timeout (the thread lock refuses beyond its
``TIMEOUT_MAX``)."""


class DamagedSnapshot(StoreError):
    """The medium holds bytes that are not UTF-8 text: a damaged snapshot, set aside as
    a snapshot that is not JSON is (the bytes are never in the message)."""


def decode_snapshot(data: bytes, location: object) -> str:
    """``data`` as UTF-8 text.

    Raises:
        DamagedSnapshot: it is not UTF-8.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_text(location, exc) from None


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


_REPLACE_TRIES = 8
"""Renames tried on Windows while a reader holds the file open (1 ms, doubling: about
a quarter of a second in all)."""


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


def _not_text(location: object, exc: UnicodeDecodeError) -> DamagedSnapshot:
    return DamagedSnapshot(f"{location} is not UTF-8 text (at byte {exc.start})")


class Medium(Protocol):
    """Where one snapshot lives.

    A medium may also have ``keep_damaged(stamp) -> str | None``: copy or move its
    current (damaged) content aside under a name made with ``stamp`` and say where, or
    return None when there is nothing to keep. Without it a damaged snapshot is replaced
    and the log says it was not kept.
    """

    location: Path
    """The file beside which the lock file lives (msal-extensions' location)."""

    def read(self) -> str | None:
        """The snapshot's text; None if there is none yet.

        Raises:
            DamagedSnapshot: the content is not text.
        """

    def write(self, text: str) -> None:
        """Replace the snapshot."""

    def version(self) -> object | None:
        """Changes whenever the snapshot does; None if there is none yet."""


class SnapshotStoreBase:
    """A snapshot store over a :class:`Medium`, under msal-extensions' lock file."""

    snapshot = True

    def __init__(self, medium: Medium, *, lock_timeout: float = 10.0) -> None:
        """A store over ``medium``, waiting up to ``lock_timeout`` seconds for the lock.

        Raises:
            ConfigurationError: ``lock_timeout`` is not a number of seconds (0 to
                2,000,000); the medium is closed.
        """
        number = isinstance(lock_timeout, (int, float)) and not isinstance(lock_timeout, bool)
        if not (number and 0 <= lock_timeout <= _MAX_LOCK_TIMEOUT):  # NaN compares False
            close = getattr(medium, "close", None)
            if callable(close):  # a D-Bus connection
                close()
            raise ConfigurationError(
                f"lock_timeout must be a number of seconds, 0 to {_MAX_LOCK_TIMEOUT:,}"
            )
        self.medium = medium
        self.lock_path = lockfile_of(medium.location)
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()
        self._kept: tuple[str, Document] | None = None
        """The text this store last wrote, and its document (under the lock)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {str(self.medium.location)!r}>"

    def version(self) -> object | None:
        return self.medium.version()

    def load(self) -> tuple[object | None, dict[str, Any] | None]:
        """The latest snapshot; a snapshot being rewritten in place is read again
        under the lock (one that does not parse, does not decrypt, or is empty:
        msal-extensions truncates the file before writing it)."""
        for _ in range(2):
            before = self.medium.version()
            state = self._read_state(locked=False)
            if state is not None and before == self.medium.version():
                return before, state
        with self._locked():
            version = self.medium.version()
            state = self._read_state(locked=True)
        if state is None:
            logger.warning(
                "token store %s is not an MSAL cache; read as empty", self.medium.location
            )
            return version, None
        return version, state

    def apply(self, changes: Sequence[Change]) -> Versions:
        """Merge the changes into the latest snapshot and save it."""
        with self._locked():
            before = self.medium.version()
            document = self._current()
            for change in changes:
                if isinstance(change, EntryPut):
                    document.put(change.credential_type, change.key, dict(change.entry))
                else:
                    document.remove(change.credential_type, change.key)
            text = document.text()
            self.medium.write(text)
            self._kept = (text, document)
            return before, self.medium.version()

    def replace_all(self, state: Mapping[str, Any]) -> Versions:
        """Save ``state`` as the whole snapshot."""
        with self._locked():
            before = self.medium.version()
            self._kept = None  # the state stays the caller's: nothing of it is kept
            try:
                damaged = _parse(self.medium.read()) is None
            except (StoreUnavailableError, NotARegularFile):
                raise  # (a folder or a pipe there is not a snapshot to set aside)
            except StoreError:  # not text, or not decrypted: kept as it is all the same
                damaged = True
            if damaged:  # replaced, but never unseen
                self._set_aside()
            self.medium.write(json.dumps(state, indent=4))
            return before, self.medium.version()

    def _read_state(self, *, locked: bool) -> dict[str, Any] | None:
        """The snapshot's state; None when it is damaged (not JSON, not text), or empty
        or failing to read without the lock (perhaps in the middle of an in-place
        rewrite: a half-written DPAPI file does not decrypt).

        Raises:
            StoreError: under the lock, the medium cannot be read.
        """
        try:
            text = self.medium.read()
        except DamagedSnapshot:
            return None
        except StoreUnavailableError:
            raise  # a locked keyring, no D-Bus: no rewrite in place, say so now
        except StoreError:
            if locked:
                raise
            return None
        if text == "" and not locked:
            return None
        return _parse(text)

    def close(self) -> None:
        """Close what the medium holds open (a D-Bus connection); files are not."""
        close = getattr(self.medium, "close", None)
        if callable(close):
            close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The store's thread lock, then the cross-process lock file."""
        if not self._thread_lock.acquire(timeout=self.lock_timeout):
            raise StoreLockTimeout(f"lock {self.lock_path} busy in this process")
        try:
            with cross_process_lock(self.lock_path, timeout=self.lock_timeout):
                yield
        finally:
            self._thread_lock.release()

    def _current(self) -> Document:
        """The snapshot to merge into (under the lock); a damaged one is kept aside.

        When the text is the one this store last wrote, its document is taken
        again (the text is compared, not the file's stat: a replaced file can have the
        old one's inode, size and time); otherwise entries that did not change keep
        their encoded text.
        """
        kept, self._kept = self._kept, None  # taken: the merge changes it in place
        try:
            text = self.medium.read()
        except DamagedSnapshot:
            return self._set_aside()
        if kept is not None and text == kept[0]:
            return kept[1]
        state = _parse(text)
        if state is None:
            return self._set_aside()
        return Document(state, kept[1] if kept is not None else None)

    def _set_aside(self) -> Document:
        """Keep the damaged snapshot where the medium can (under a name no other
        process or second makes), say truthfully where, and start afresh. Its content
        may hold tokens: it is never logged."""
        stamp = f"{int(time.time())}-{os.getpid()}-{secrets.token_hex(4)}"
        keep = getattr(self.medium, "keep_damaged", None)
        where: str | None = None
        failure = ""
        if callable(keep):
            try:
                where = keep(stamp)
            except OSError as exc:  # StoreError included
                failure = f" (keeping a copy failed: {type(exc).__name__})"
        if where is None:
            logger.warning(
                "token store %s was not an MSAL cache; it is replaced by a fresh one and "
                "its damaged content is not kept%s",
                self.medium.location,
                failure,
            )
        else:
            logger.warning(
                "token store %s was not an MSAL cache; kept as %s, starting afresh",
                self.medium.location,
                where,
            )
        return Document({})


def _parse(text: str | None) -> dict[str, Any] | None:
    """The snapshot's state (empty when there is none); None when it is damaged."""
    if not text:
        return {}
    try:
        with gc_paused():  # a large snapshot is many small acyclic objects
            state = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return state if isinstance(state, dict) else None


_TEMP = re.compile(r"([0-9]+)\.[0-9a-f]{8}\.tmp")
"""The end of a temporary file's name, after ``.<name>.``: the writer's pid, a random part."""
_TEMP_LEFT_S = 60.0
"""A temporary file is swept once this old, and only then: a write keeps its temporary
for milliseconds, but one on another host sharing the folder (whose pid means nothing
here) may be slow, and removing its temporary would fail its rename."""


class FileMedium:
    """A plain file replaced atomically: temporary file, fsync, rename; mode 0600."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = Path(path).expanduser()
        try:
            self.location.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {self.location}: {exc}") from exc
        self._sweep_temporaries()

    def _sweep_temporaries(self) -> None:
        """Remove temporary files left by writers killed before their rename: those
        whose pid is not running here and that are :data:`_TEMP_LEFT_S` old.

        Only names exactly of :meth:`write_bytes`' form for this file: the temporary of
        a file ``<name>.<n>`` beside it also starts ``.<name>.``, and ``<n>`` is no pid.
        """
        from tokensmith.stores.lockfile import pid_alive

        target = self._target()
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

    def _target(self) -> Path:
        """The file to replace: the one a link at the location names (msal-extensions
        writes through it, and replacing the link would end the sharing it sets up)."""
        return Path(os.path.realpath(self.location))

    def read(self) -> str | None:
        data = read_regular(self.location)
        return None if data is None else decode_snapshot(data, self.location)

    def keep_damaged(self, stamp: str) -> str | None:
        """Move the file aside as ``<name>.corrupt-<stamp>`` (its bytes as they are)."""
        return _move_aside(self._target(), stamp)

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        """Replace the file's content atomically (temporary file, fsync, rename), the
        file a link at the location names if there is one."""
        target = self._target()
        folder = target.parent
        temp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
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
        except OSError as exc:
            raise StoreError(f"cannot write {self.location}: {exc.strerror}") from exc

    def version(self) -> object | None:
        try:
            st = os.stat(self.location)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a link loop, a file where a folder should be
            raise StoreError(f"cannot read {self.location}: {exc.strerror}") from exc
        return (st.st_mtime_ns, st.st_size, st.st_ino)


class PersistenceMedium:
    """An msal-extensions persistence object (``load``, ``save``,
    ``time_last_modified``, ``get_location``): FilePersistence, LibsecretPersistence,
    KeychainPersistence, FilePersistenceWithDataProtection."""

    def __init__(self, persistence: Any) -> None:
        for name in ("load", "save", "time_last_modified", "get_location"):
            if not callable(getattr(persistence, name, None)):
                raise ConfigurationError(f"persistence object has no {name}() method")
        self.persistence = persistence
        location = persistence.get_location()
        if not isinstance(location, (str, os.PathLike)) or not os.fspath(location):
            raise ConfigurationError("persistence object's get_location() is not a path")
        self.location = Path(location)

    def read(self) -> str | None:
        """The persistence's content.

        Raises:
            DamagedSnapshot: it is not UTF-8.
            StoreError: ``load()`` failed (other than ``PersistenceNotFound``), or
                returned neither text nor bytes.
        """
        try:
            text: object = self.persistence.load()
        except OSError as exc:
            if exc.errno == errno.ENOENT:  # PersistenceNotFound
                return None
            raise StoreError(f"persistence {self.location} cannot load: {exc}") from exc
        except UnicodeDecodeError as exc:  # FilePersistence reads in text mode
            raise _not_text(self.location, exc) from None
        except Exception as exc:  # libsecret's GLib.Error, a keyring's own errors
            raise _failed(self.location, "load", exc) from exc
        if text is None or isinstance(text, str):
            return text
        if isinstance(text, (bytes, bytearray)):
            return decode_snapshot(bytes(text), self.location)
        raise StoreError(
            f"persistence {self.location}: load() returned {type(text).__name__}, not text"
        )

    def keep_damaged(self, stamp: str) -> str | None:
        """Move the file aside where the location is the snapshot itself (msal-extensions'
        ``FilePersistence`` and its DPAPI subclass: the bytes stay as they were, encrypted
        or not); elsewhere (a keyring) there is no place for a copy that stays encrypted."""
        if not any(cls.__name__ == "FilePersistence" for cls in type(self.persistence).__mro__):
            return None
        return _move_aside(Path(os.path.realpath(self.location)), stamp)  # it writes through links

    def write(self, text: str) -> None:
        try:
            self.persistence.save(text)
        except OSError as exc:
            raise StoreError(f"persistence {self.location} cannot save: {exc}") from exc
        except Exception as exc:
            raise _failed(self.location, "save", exc) from exc

    def version(self) -> object | None:
        try:
            modified: object = self.persistence.time_last_modified()
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise StoreError(f"persistence {self.location}: {exc}") from exc
        except Exception as exc:
            raise _failed(self.location, "time_last_modified", exc) from exc
        return modified


def _failed(location: Path, method: str, exc: Exception) -> StoreError:
    """A persistence's own exception as a StoreError: its type only (its message is the
    backend's, and may quote what it was given)."""
    return StoreError(f"persistence {location}: {method}() raised {type(exc).__name__}")


class FileStore(SnapshotStoreBase):
    """MSAL's JSON in a plain file, shared at once with msal-extensions processes
    (same format as its ``FilePersistence``, same ``.lockfile`` beside it).

    Not encrypted: readable by the file's owner (0600). Use it where the disk is the
    user's own (a CLI on a personal machine, a container with a private volume), or
    pick an encrypted store (see docs/persistence.md).
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        super().__init__(FileMedium(path), lock_timeout=lock_timeout)


class PersistenceStore(SnapshotStoreBase):
    """The adapter for msal-extensions persistence objects: any ``BasePersistence``
    (plain, libsecret, Keychain, DPAPI) as a tokensmith store, under the same lock file
    as msal-extensions' ``PersistedTokenCache``."""

    def __init__(self, persistence: Any, *, lock_timeout: float = 10.0) -> None:
        super().__init__(PersistenceMedium(persistence), lock_timeout=lock_timeout)


def _move_aside(path: Path, stamp: str) -> str | None:
    """Rename ``path`` to ``<name>.corrupt-<stamp>`` beside it; its new name, or None if
    there was no file."""
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot move {path} aside: {exc.strerror}") from exc
    return aside.name


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
