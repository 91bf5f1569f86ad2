"""Windows DPAPI, as msal-extensions' ``FilePersistenceWithDataProtection`` uses it.

The cache's JSON, encrypted with ``CryptProtectData`` (current user, optional entropy,
no UI) and written to the file atomically; its ``.lockfile`` is the cross-process lock,
so both libraries share one file.

Built here, but only unit-tested over fakes: the test machines run Linux, so
:class:`Crypt32` (ctypes over ``crypt32.dll``) has run in CI over a fake :class:`Win32`
only, never over the real DLLs.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tokensmith.errors import StoreError, StoreUnavailableError
from tokensmith.stores.lockfile import LOCK_TIMEOUT_S
from tokensmith.stores.snapshot import (
    FileMedium,
    SnapshotStoreBase,
    checked_lock_timeout,
    decode_snapshot,
    read_regular,
)

__all__ = ["Crypt32", "DpapiMedium", "DpapiStore", "Protector", "Win32"]

_UI_FORBIDDEN = 0x01


class Protector(Protocol):
    """Encrypts and decrypts for the current user."""

    def protect(self, data: bytes) -> bytes:
        """Encrypt ``data``."""

    def unprotect(self, data: bytes) -> bytes:
        """Decrypt ``data``; raise on data this user cannot decrypt."""


class DpapiMedium:
    """A file holding the snapshot encrypted by a :class:`Protector`."""

    def __init__(self, location: str | os.PathLike[str], protector: Protector) -> None:
        self._file = FileMedium(location)
        self.location: Path = self._file.location
        self._protector = protector

    def read(self) -> str | None:
        data = read_regular(self.location)
        if data is None:
            return None
        if not data:  # nothing to decrypt (or truncated by an in-place rewrite)
            return ""
        try:
            clear = self._protector.unprotect(data)
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"{self.location} cannot be decrypted by this user (DPAPI); it was written "
                "by another user or not encrypted"
            ) from exc
        return decode_snapshot(clear, self.location)  # decrypted, yet not text: damaged

    def keep_damaged(self, stamp: str) -> str | None:
        """Move the file aside as ``<name>.corrupt-<stamp>`` (still encrypted)."""
        return self._file.keep_damaged(stamp)

    def write(self, text: str) -> None:
        try:
            sealed = self._protector.protect(text.encode("utf-8"))
        except OSError as exc:
            raise StoreError(f"DPAPI cannot encrypt the cache for {self.location}") from exc
        self._file.write_bytes(sealed)

    def version(self) -> object | None:
        return self._file.version()


class DpapiStore(SnapshotStoreBase):
    """The cache in a DPAPI-encrypted file, shared with msal-extensions'
    ``FilePersistenceWithDataProtection(location, entropy)``.

    Raises:
        StoreUnavailableError: not on Windows (``protector`` not given).
    """

    is_encrypted = True

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        entropy: str | None = "",
        protector: Protector | None = None,
        lock_timeout: float = LOCK_TIMEOUT_S,
    ) -> None:
        checked_lock_timeout(lock_timeout)
        chosen = protector if protector is not None else Crypt32(entropy)
        super().__init__(DpapiMedium(location, chosen), lock_timeout=lock_timeout)


class _Blob(ctypes.Structure):
    _fields_ = [("cbData", ctypes.c_uint32), ("pbData", ctypes.POINTER(ctypes.c_char))]


class Win32:
    """The Windows libraries :class:`Crypt32` calls, and how it reads the error code of
    the call that failed (a plain class: a dataclass would import ``dataclasses`` into
    every process that opens the store).

    Attributes:
        last_error: the last error of the latest call through ``crypt32`` or
            ``kernel32``.
    """

    __slots__ = ("crypt32", "kernel32", "last_error")

    def __init__(self, crypt32: Any, kernel32: Any, last_error: Callable[[], int]) -> None:
        self.crypt32 = crypt32
        self.kernel32 = kernel32
        self.last_error = last_error

    @classmethod
    def load(cls) -> Win32:
        """``crypt32.dll`` and ``kernel32.dll`` loaded with ``use_last_error``: ctypes
        saves a call's ``GetLastError`` as it returns, which ``ctypes.get_last_error()``
        reads; a ``GetLastError`` called after it reads whatever ran in between (the
        interpreter's own Windows calls).

        Raises:
            StoreUnavailableError: not on Windows.
        """
        win_dll: Any = getattr(ctypes, "WinDLL", None)
        last_error: Any = getattr(ctypes, "get_last_error", None)
        if win_dll is None or last_error is None or not sys.platform.startswith("win"):
            raise StoreUnavailableError("DPAPI exists on Windows only")
        return cls(
            win_dll("crypt32", use_last_error=True),
            win_dll("kernel32", use_last_error=True),
            last_error,
        )


class Crypt32:
    """:class:`Protector` over ``CryptProtectData`` / ``CryptUnprotectData``.

    Raises:
        StoreUnavailableError: not on Windows (``win32`` not given).
    """

    def __init__(self, entropy: str | None = "", *, win32: Win32 | None = None) -> None:
        self._win32 = win32 if win32 is not None else Win32.load()
        self._entropy: bytes = (entropy or "").encode("utf-8")  # (None: none, as msal-extensions)

    def _call(self, fn: Any, data: bytes, *description: Any) -> bytes:
        buffer = ctypes.create_string_buffer(data, len(data))
        source = _Blob(len(data), ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char)))
        entropy = None
        if self._entropy:
            keep = ctypes.create_string_buffer(self._entropy, len(self._entropy))
            entropy = ctypes.byref(
                _Blob(len(self._entropy), ctypes.cast(keep, ctypes.POINTER(ctypes.c_char)))
            )
        out = _Blob()
        if not fn(
            ctypes.byref(source),
            *description,
            entropy,
            None,
            None,
            _UI_FORBIDDEN,
            ctypes.byref(out),
        ):
            raise OSError(self._win32.last_error(), "DPAPI call failed")
        try:
            return ctypes.string_at(out.pbData, out.cbData)
        finally:
            self._win32.kernel32.LocalFree(out.pbData)

    def protect(self, data: bytes) -> bytes:
        return self._call(self._win32.crypt32.CryptProtectData, data, "python_data")

    def unprotect(self, data: bytes) -> bytes:
        return self._call(self._win32.crypt32.CryptUnprotectData, data, None)
