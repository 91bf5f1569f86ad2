"""The macOS Keychain, as msal-extensions' ``KeychainPersistence`` uses it.

One generic password: service ``"msal-extensions"`` and account the SHA-256 hex of the
signal file's path (msal-extensions' defaults; both can be given), the cache's JSON as
its data, in the default keychain; after each save the signal file is touched, and
its ``.lockfile`` is the cross-process lock, so both libraries share one item.

Built here, but only unit-tested over a fake backend: the test machines run Linux, so
:class:`SecurityFramework` (ctypes over ``Security.framework``) has not run in CI.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
from pathlib import Path
from typing import Any, Protocol

from tokensmith.errors import StoreError, StoreUnavailableError
from tokensmith.stores.lockfile import LOCK_TIMEOUT_S
from tokensmith.stores.snapshot import (
    FileMedium,
    SnapshotStoreBase,
    checked_lock_timeout,
    decode_snapshot,
    touch_signal_file,
)

__all__ = [
    "INTERACTION_NOT_ALLOWED",
    "ITEM_NOT_FOUND",
    "USER_CANCELED",
    "KeychainBackend",
    "KeychainMedium",
    "KeychainStore",
    "SecurityFramework",
    "keychain_error",
]

ITEM_NOT_FOUND = -25300
"""``errSecItemNotFound``."""
USER_CANCELED = -128
"""``errSecUserCanceled``: the user dismissed the Keychain's prompt."""
INTERACTION_NOT_ALLOWED = -25308
"""``errSecInteractionNotAllowed``: the Keychain needs a prompt and cannot show one
here (an SSH session, a locked screen)."""

_NO_PROMPT = {
    USER_CANCELED: "the user cancelled the prompt",
    INTERACTION_NOT_ALLOWED: "no prompt can be shown here (an SSH session?)",
}


def keychain_error(status: int, what: str) -> StoreError:
    """The exception for a Security call that returned ``status`` (an ``OSStatus``),
    ``what`` saying what it could not do ("read the item").

    A prompt refused or impossible is :class:`StoreUnavailableError`: the store does
    not try it again (each try would prompt the user once more).
    """
    message = f"Keychain: cannot {what} (OSStatus {status})"
    if status in _NO_PROMPT:
        return StoreUnavailableError(f"{message}: {_NO_PROMPT[status]}")
    return StoreError(message)


class KeychainBackend(Protocol):
    """The two Keychain calls the store makes; a failed call raises
    :func:`keychain_error` of its status."""

    def find(self, service: str, account: str) -> bytes | None:
        """The generic password's data; None if there is no such item."""

    def put(self, service: str, account: str, data: bytes) -> None:
        """Create the generic password, or replace its data."""


class KeychainMedium:
    """A generic password plus a signal file."""

    def __init__(
        self,
        location: str | os.PathLike[str],
        backend: KeychainBackend,
        *,
        service_name: str | None = "msal-extensions",
        account_name: str | None = None,
    ) -> None:
        self.location = Path(location).expanduser()
        self._signal = FileMedium(self.location)
        self._backend = backend
        self.service_name = service_name or "msal-extensions"  # (msal-extensions' ``or``)
        self.account_name = account_name or hashlib.sha256(os.fspath(location).encode()).hexdigest()

    def read(self) -> str | None:
        data = self._backend.find(self.service_name, self.account_name)
        return (
            None if data is None else decode_snapshot(data, f"the Keychain item of {self.location}")
        )

    def keep_damaged(self, stamp: str) -> str | None:
        """Copy the item, as it is, to the generic password of account
        ``<account>.corrupt-<stamp>`` (same service, encrypted there too)."""
        data = self._backend.find(self.service_name, self.account_name)
        if data is None:
            return None
        account = f"{self.account_name}.corrupt-{stamp}"
        self._backend.put(self.service_name, account, data)
        return f"the Keychain item {self.service_name}/{account}"

    def write(self, text: str) -> None:
        self._backend.put(self.service_name, self.account_name, text.encode("utf-8"))
        touch_signal_file(self.location)

    def version(self) -> object | None:
        return self._signal.version()


class KeychainStore(SnapshotStoreBase):
    """The cache in the macOS Keychain, shared with msal-extensions'
    ``KeychainPersistence(location, service_name, account_name)``.

    Raises:
        StoreUnavailableError: not on macOS (``backend`` not given).
    """

    is_encrypted = True

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        service_name: str | None = "msal-extensions",
        account_name: str | None = None,
        backend: KeychainBackend | None = None,
        lock_timeout: float = LOCK_TIMEOUT_S,
    ) -> None:
        checked_lock_timeout(lock_timeout)
        medium = KeychainMedium(
            location,
            backend if backend is not None else SecurityFramework(),
            service_name=service_name,
            account_name=account_name,
        )
        super().__init__(medium, lock_timeout=lock_timeout)


class SecurityFramework:
    """:class:`KeychainBackend` over ``Security.framework`` (ctypes), default keychain."""

    def __init__(self) -> None:
        if not sys.platform.startswith("darwin"):
            raise StoreUnavailableError("the Keychain exists on macOS only")
        self._sec: Any = ctypes.CDLL("/System/Library/Frameworks/Security.framework/Security")
        self._cf: Any = ctypes.CDLL(
            "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
        )
        self._cf.CFRelease.argtypes = (ctypes.c_void_p,)

    def _keychain(self) -> ctypes.c_void_p:
        ref = ctypes.c_void_p()
        self._check(self._sec.SecKeychainCopyDefault(ctypes.byref(ref)), "open the keychain")
        return ref

    def find(self, service: str, account: str) -> bytes | None:
        ref = self._keychain()
        try:
            s, a = service.encode(), account.encode()
            length, data = ctypes.c_uint32(), ctypes.c_void_p()
            status = self._sec.SecKeychainFindGenericPassword(
                ref, len(s), s, len(a), a, ctypes.byref(length), ctypes.byref(data), None
            )
            if status == ITEM_NOT_FOUND:
                return None
            self._check(status, "read the item")
            try:
                return ctypes.string_at(data, length.value)
            finally:
                self._sec.SecKeychainItemFreeContent(None, data)
        finally:
            self._cf.CFRelease(ref)

    def put(self, service: str, account: str, data: bytes) -> None:
        ref = self._keychain()
        try:
            s, a = service.encode(), account.encode()
            item = ctypes.c_void_p()
            status = self._sec.SecKeychainFindGenericPassword(
                ref, len(s), s, len(a), a, None, None, ctypes.byref(item)
            )
            if status == ITEM_NOT_FOUND:
                status = self._sec.SecKeychainAddGenericPassword(
                    ref, len(s), s, len(a), a, len(data), data, None
                )
                self._check(status, "add the item")
                return
            self._check(status, "find the item")
            try:
                status = self._sec.SecKeychainItemModifyAttributesAndData(
                    item, None, len(data), data
                )
                self._check(status, "update the item")
            finally:
                self._cf.CFRelease(item)
        finally:
            self._cf.CFRelease(ref)

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status:
            raise keychain_error(status, what)
