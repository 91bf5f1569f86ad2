"""Snapshot stores: the whole cache as MSAL's JSON, shared with msal-extensions.

A write takes msal-extensions' lock file (:mod:`tokensmith.stores.lockfile`), reads
the latest snapshot, merges the changed entries into it and saves it, so two processes
(tokensmith or msal-extensions) writing at once lose nothing. Where the snapshot is
kept is a *medium*: a plain file written atomically (:class:`FileMedium`), any
msal-extensions persistence object (:class:`PersistenceMedium`), the Secret Service
(:mod:`tokensmith.stores.secretservice`). The media are in
:mod:`tokensmith.stores._media` and the file operations under them in
:mod:`tokensmith.stores._files`; this module names them again for the stores built on it.

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
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

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
from tokensmith.stores._files import NotARegularFile, read_regular, touch_signal_file
from tokensmith.stores._media import (
    DamagedSnapshot,
    FileMedium,
    Medium,
    PersistenceMedium,
    decode_snapshot,
)
from tokensmith.stores.lockfile import LOCK_TIMEOUT_S, cross_process_lock, lockfile_of

__all__ = [
    "DamagedSnapshot",
    "FileMedium",
    "FileStore",
    "Medium",
    "NotARegularFile",
    "PersistenceMedium",
    "PersistenceStore",
    "checked_lock_timeout",
    "decode_snapshot",
    "read_regular",
    "touch_signal_file",
]

Versions = tuple[object | None, object | None]
_MAX_LOCK_TIMEOUT = 2_000_000
"""Seconds (23 days): past it, a wait is no timeout (the thread lock refuses beyond its
``TIMEOUT_MAX``)."""


def checked_lock_timeout(lock_timeout: object) -> float:
    """``lock_timeout``, a number of seconds from 0 to 2,000,000: each store checks it
    before it touches a disk or a bus.

    Raises:
        ConfigurationError: it is not.
    """
    if (
        isinstance(lock_timeout, (int, float))
        and not isinstance(lock_timeout, bool)
        and 0 <= lock_timeout <= _MAX_LOCK_TIMEOUT  # (NaN compares False)
    ):
        return lock_timeout
    raise ConfigurationError(
        f"lock_timeout must be a number of seconds, 0 to {_MAX_LOCK_TIMEOUT:,}"
    )


class SnapshotStoreBase:
    """A snapshot store over a :class:`Medium`, under msal-extensions' lock file."""

    snapshot = True

    def __init__(self, medium: Medium, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        """A store over ``medium``, waiting up to ``lock_timeout`` seconds for the lock.

        Raises:
            ConfigurationError: ``lock_timeout`` is not a number of seconds (0 to
                2,000,000); the medium is closed.
        """
        try:
            checked_lock_timeout(lock_timeout)
        except ConfigurationError:
            close = getattr(medium, "close", None)
            if callable(close):  # a D-Bus connection
                close()
            raise
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
        """Merge the changes into the latest snapshot and save it.

        Raises:
            StoreError: the snapshot cannot be written, or an entry holds a value JSON
                cannot (a set, bytes, a loop: nothing was written).
        """
        with self._locked():
            before = self.medium.version()
            document = self._current()
            for change in changes:
                if isinstance(change, EntryPut):
                    document.put(change.credential_type, change.key, dict(change.entry))
                else:
                    document.remove(change.credential_type, change.key)
            try:
                text = document.text()
            except (TypeError, ValueError, RecursionError) as exc:  # a set, bytes, a loop
                where = self.medium.location
                raise StoreError(f"token store {where}: an entry JSON cannot hold ({exc})") from exc
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
        may hold tokens: it is never logged.

        Raises:
            StoreError: the medium can keep a copy, but keeping it failed: the damaged
                snapshot is not overwritten (it may be recoverable by hand).
        """
        stamp = f"{int(time.time())}-{os.getpid()}-{secrets.token_hex(4)}"
        keep = getattr(self.medium, "keep_damaged", None)
        where: str | None = None
        if callable(keep):
            try:
                where = keep(stamp)
            except OSError as exc:  # StoreError included (its message names no token)
                why = exc if isinstance(exc, StoreError) else type(exc).__name__
                raise StoreError(
                    f"token store {self.medium.location} is not an MSAL cache and cannot be "
                    f"kept aside ({why}); it is left as it is: move it away or remove it"
                ) from exc
        if where is None:
            logger.warning(
                "token store %s was not an MSAL cache; it is replaced by a fresh one and "
                "its damaged content is not kept",
                self.medium.location,
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


class FileStore(SnapshotStoreBase):
    """MSAL's JSON in a plain file, shared at once with msal-extensions processes
    (same format as its ``FilePersistence``, same ``.lockfile`` beside it).

    Not encrypted: readable by the file's owner (0600). Use it where the disk is the
    user's own (a CLI on a personal machine, a container with a private volume), or
    pick an encrypted store (see docs/persistence.md).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, lock_timeout: float = LOCK_TIMEOUT_S
    ) -> None:
        checked_lock_timeout(lock_timeout)  # (before the medium makes a folder)
        super().__init__(FileMedium(path), lock_timeout=lock_timeout)


class PersistenceStore(SnapshotStoreBase):
    """The adapter for msal-extensions persistence objects: any ``BasePersistence``
    (plain, libsecret, Keychain, DPAPI) as a tokensmith store, under the same lock file
    as msal-extensions' ``PersistedTokenCache``."""

    def __init__(self, persistence: Any, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        checked_lock_timeout(lock_timeout)
        super().__init__(PersistenceMedium(persistence), lock_timeout=lock_timeout)
