"""Where a snapshot store keeps its snapshot: the :class:`Medium` protocol, a plain file
(:class:`FileMedium`) and any msal-extensions persistence object
(:class:`PersistenceMedium`).

A medium reads text and writes text; bytes that are not UTF-8 are a
:class:`DamagedSnapshot`, which the store sets aside as it does a snapshot that is not
JSON. The stores themselves are in :mod:`tokensmith.stores.snapshot`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Protocol

from tokensmith.errors import ConfigurationError, StoreError
from tokensmith.stores._files import (
    move_aside,
    read_regular,
    sweep_temporaries,
    write_atomically,
)

__all__ = [
    "DamagedSnapshot",
    "FileMedium",
    "Medium",
    "PersistenceMedium",
    "decode_snapshot",
]


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


class FileMedium:
    """A plain file replaced atomically: temporary file, fsync, rename; mode 0600."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = Path(path).expanduser()
        try:
            self.location.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {self.location}: {exc}") from exc
        sweep_temporaries(self._target())

    def _target(self) -> Path:
        """The file to replace: the one a link at the location names (msal-extensions
        writes through it, and replacing the link would end the sharing it sets up)."""
        return Path(os.path.realpath(self.location))

    def read(self) -> str | None:
        data = read_regular(self.location)
        return None if data is None else decode_snapshot(data, self.location)

    def keep_damaged(self, stamp: str) -> str | None:
        """Move the file aside as ``<name>.corrupt-<stamp>`` (its bytes as they are)."""
        return move_aside(self._target(), stamp)

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        """Replace the file's content atomically (temporary file, fsync, rename), the
        file a link at the location names if there is one."""
        target = self._target()
        try:
            write_atomically(target, data)
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
        return move_aside(Path(os.path.realpath(self.location)), stamp)  # it writes through links

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
