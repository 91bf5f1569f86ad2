"""Keychain and DPAPI stores over fakes (the real backends need macOS / Windows)."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from msal_extensions.filelock import CrossPlatLock
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import StoreError, StoreLockTimeout, StoreUnavailableError
from tokensmith.stores import PersistentTokenCache
from tokensmith.stores.dpapi import Crypt32, DpapiStore, Win32
from tokensmith.stores.keychain import KeychainStore, SecurityFramework, keychain_error
from tokensmith.stores.lockfile import lockfile_of


class FakeKeychain:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], bytes] = {}

    def find(self, service: str, account: str) -> bytes | None:
        return self.items.get((service, account))

    def put(self, service: str, account: str, data: bytes) -> None:
        self.items[(service, account)] = data


class FailingKeychain(FakeKeychain):
    """Every call fails with ``status``, as :class:`SecurityFramework` reports it; counts
    the reads (on a Mac, each one can put a prompt in front of the user)."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status
        self.reads = 0

    def find(self, service: str, account: str) -> bytes | None:
        self.reads += 1
        raise keychain_error(self.status, "read the item")

    def put(self, service: str, account: str, data: bytes) -> None:
        raise keychain_error(self.status, "update the item")


class FakeProtector:
    """XOR with a per-user key behind a header: wrong user = ValueError, as DPAPI fails."""

    def __init__(self, user: bytes) -> None:
        self.user = user

    def _xor(self, data: bytes) -> bytes:
        return bytes(b ^ self.user[i % len(self.user)] for i, b in enumerate(data))

    def protect(self, data: bytes) -> bytes:
        return hashlib.sha256(self.user).digest()[:4] + self._xor(data)

    def unprotect(self, data: bytes) -> bytes:
        if data[:4] != hashlib.sha256(self.user).digest()[:4]:
            raise ValueError("not this user's")
        return self._xor(data[4:])


class FakeWin32:
    """``crypt32`` and ``kernel32`` as ctypes shows them when loaded with
    ``use_last_error``: a failing call's code is saved for :attr:`Win32.last_error`,
    while the thread's own last error (what ``GetLastError()`` reads) has been changed
    since, by the interpreter's own calls. "Encryption": the bytes reversed, after the
    entropy."""

    def __init__(self, fail_with: int = 0) -> None:
        self.fail_with = fail_with
        self.saved = 0
        self.allocated: dict[int | None, Any] = {}  # address: buffer, until LocalFree
        self.crypt32 = SimpleNamespace(
            CryptProtectData=self._protect, CryptUnprotectData=self._unprotect
        )
        self.kernel32 = SimpleNamespace(GetLastError=lambda: 0, LocalFree=self._free)

    def win32(self) -> Win32:
        return Win32(self.crypt32, self.kernel32, lambda: self.saved)

    @staticmethod
    def _bytes(blob: Any) -> bytes:
        return b"" if blob is None else ctypes.string_at(blob._obj.pbData, blob._obj.cbData)

    def _give(self, out: Any, data: bytes) -> int:
        if self.fail_with:
            self.saved = self.fail_with
            return 0
        buffer = ctypes.create_string_buffer(data, len(data))
        out._obj.pbData = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char))
        out._obj.cbData = len(data)
        self.allocated[ctypes.addressof(buffer)] = buffer
        return 1

    def _protect(self, data: Any, _: str, entropy: Any, *rest: Any) -> int:
        return self._give(rest[-1], self._bytes(entropy) + self._bytes(data)[::-1])

    def _unprotect(self, data: Any, _: None, entropy: Any, *rest: Any) -> int:
        key, sealed = self._bytes(entropy), self._bytes(data)
        return self._give(rest[-1], sealed[len(key) :][::-1])

    def _free(self, pointer: Any) -> None:
        del self.allocated[ctypes.cast(pointer, ctypes.c_void_p).value]


def test_keychain_item_uses_msal_extensions_names(tmp_path: Path) -> None:
    signal = tmp_path / "cache.bin"
    keychain = FakeKeychain()
    cache = PersistentTokenCache(KeychainStore(signal, backend=keychain), clock=lambda: NOW)
    cache.add(user_event(access_token="kc-secret"), now=NOW)
    ((service, account),) = keychain.items
    assert service == "msal-extensions"
    assert account == hashlib.sha256(str(signal).encode()).hexdigest()
    assert b"kc-secret" in keychain.items[(service, account)]
    assert signal.read_bytes() == b"" and stat.S_IMODE(signal.stat().st_mode) == 0o600
    again = PersistentTokenCache(KeychainStore(signal, backend=keychain), clock=lambda: NOW)
    assert len(again.find_accounts()) == 1


def test_dpapi_file_is_encrypted_and_bound_to_its_user(tmp_path: Path) -> None:
    path = tmp_path / "cache.bin"
    store = DpapiStore(path, protector=FakeProtector(b"alice"))
    PersistentTokenCache(store, clock=lambda: NOW).add(
        user_event(access_token="dp-secret"), now=NOW
    )
    assert b"dp-secret" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    mine = PersistentTokenCache(DpapiStore(path, protector=FakeProtector(b"alice")))
    assert len(mine.find_accounts()) == 1
    theirs = PersistentTokenCache(DpapiStore(path, protector=FakeProtector(b"mallory")))
    with pytest.raises(StoreError, match="cannot be decrypted"):
        theirs.find_accounts()


def test_the_real_backends_say_where_they_run() -> None:
    with pytest.raises(StoreUnavailableError, match="macOS"):
        SecurityFramework()
    with pytest.raises(StoreUnavailableError, match="Windows"):
        Crypt32()


_DAMAGED = [
    b'{"RefreshToken": {"\xff": {"secret": "rt-damaged-secret"}}}',  # not UTF-8
    b'{"RefreshToken": {"k": {"secret": "rt-damaged-secret"}}, TRUNC',  # not JSON
]


@pytest.mark.parametrize("damaged", _DAMAGED)
def test_a_damaged_keychain_item_is_copied_to_another_item(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damaged: bytes
) -> None:
    signal = tmp_path / "cache.bin"
    keychain = FakeKeychain()
    account = hashlib.sha256(str(signal).encode()).hexdigest()
    keychain.items[("msal-extensions", account)] = damaged
    cache = PersistentTokenCache(KeychainStore(signal, backend=keychain), clock=lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert cache.find_accounts() == []
        cache.add(user_event(), now=NOW)
    assert "Account" in json.loads(keychain.items[("msal-extensions", account)])
    (aside,) = [key for key in keychain.items if key[1] != account]
    assert aside[1].startswith(f"{account}.corrupt-") and keychain.items[aside] == damaged
    assert f"kept as the Keychain item msal-extensions/{aside[1]}" in caplog.text
    assert "rt-damaged-secret" not in caplog.text


@pytest.mark.parametrize("damaged", _DAMAGED)
def test_a_damaged_dpapi_file_is_kept_aside_still_encrypted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damaged: bytes
) -> None:
    path = tmp_path / "cache.bin"
    sealed = FakeProtector(b"alice").protect(damaged)
    path.write_bytes(sealed)
    cache = PersistentTokenCache(DpapiStore(path, protector=FakeProtector(b"alice")))
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert cache.find_accounts() == []
        cache.add(user_event(), now=NOW)
    (aside,) = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside.read_bytes() == sealed
    assert f"kept as {aside.name}" in caplog.text
    assert "rt-damaged-secret" not in caplog.text
    assert (
        len(
            PersistentTokenCache(
                DpapiStore(path, protector=FakeProtector(b"alice"))
            ).find_accounts()
        )
        == 1
    )


@pytest.mark.parametrize("partial", [b"", b"\x01\x02"], ids=["truncated", "half written"])
def test_a_dpapi_file_being_rewritten_in_place_is_read_again_under_the_lock(
    tmp_path: Path, partial: bytes
) -> None:
    """msal-extensions' FilePersistenceWithDataProtection truncates the file, then writes
    it, under its lock: what a reader sees meanwhile does not decrypt, and is no
    reason to fail (nor an empty cache)."""
    path = tmp_path / "cache.bin"
    alice = FakeProtector(b"alice")
    PersistentTokenCache(DpapiStore(path, protector=alice)).add(user_event(), now=NOW)
    store = DpapiStore(path, protector=alice, lock_timeout=0.2)
    with CrossPlatLock(str(lockfile_of(path))):
        path.write_bytes(partial)
        with pytest.raises(StoreLockTimeout):
            store.load()
    if partial:  # still not decryptable once the lock is free: this user cannot read it
        with pytest.raises(StoreError, match="cannot be decrypted"):
            store.load()
    else:  # nothing to decrypt: an empty cache
        assert store.load()[1] == {}


def test_an_import_over_a_dpapi_file_this_user_cannot_decrypt_keeps_it_aside(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.bin"
    theirs = FakeProtector(b"mallory").protect(b'{"Account": {}}')
    path.write_bytes(theirs)
    PersistentTokenCache(DpapiStore(path, protector=FakeProtector(b"alice"))).deserialize("{}")
    (aside,) = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside.read_bytes() == theirs
    assert FakeProtector(b"alice").unprotect(path.read_bytes()) == b"{}"


@contextlib.contextmanager
def fifo_at(path: Path, *, reader: bool) -> Iterator[None]:
    """A named pipe at ``path``, opened for reading here meanwhile if ``reader`` (without
    blocking: no writer is needed)."""
    os.mkfifo(path, 0o600)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK) if reader else None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


@pytest.mark.timeout(30)  # (before the fix: for ever, no reader to open the pipe)
@pytest.mark.parametrize("reader", [False, True], ids=["no reader", "a reader"])
def test_a_fifo_at_the_keychain_signal_file_is_a_store_error_not_a_hang(
    tmp_path: Path, reader: bool
) -> None:
    """Opening a named pipe to write waits for a reader; with one, it was touched as
    if it were the signal file."""
    signal = tmp_path / "cache.bin"
    keychain = FakeKeychain()
    cache = PersistentTokenCache(KeychainStore(signal, backend=keychain), clock=lambda: NOW)
    with fifo_at(signal, reader=reader), pytest.raises(StoreError) as caught:
        cache.add(user_event(), now=NOW)
    assert str(caught.value) == f"cannot touch the signal file {signal}: not a regular file"
    assert stat.S_ISFIFO(os.lstat(signal).st_mode)  # left as it was


_NO_PROMPT = {-128: "errSecUserCanceled", -25308: "errSecInteractionNotAllowed"}


@pytest.mark.parametrize("status", list(_NO_PROMPT), ids=list(_NO_PROMPT.values()))
def test_a_refused_keychain_prompt_is_unavailable_and_not_asked_again(
    tmp_path: Path, status: int
) -> None:
    """A cancelled prompt, or one that cannot be shown (an SSH session): the read is not
    tried again (each try is one more prompt), and no set-aside reads it once more."""
    keychain = FailingKeychain(status)
    store = KeychainStore(tmp_path / "cache.bin", backend=keychain)
    with pytest.raises(StoreUnavailableError, match=f"OSStatus {status}"):
        store.load()
    assert keychain.reads == 1
    with pytest.raises(StoreUnavailableError):
        PersistentTokenCache(store).deserialize("{}")
    assert keychain.reads == 2 and keychain.items == {}


def test_another_keychain_failure_stays_a_store_error(tmp_path: Path) -> None:
    keychain = FailingKeychain(-25293)  # errSecAuthFailed
    store = KeychainStore(tmp_path / "cache.bin", backend=keychain, lock_timeout=1)
    with pytest.raises(StoreError, match="OSStatus -25293") as caught:
        store.load()
    assert not isinstance(caught.value, StoreUnavailableError)


def test_crypt32_over_a_fake_win32_round_trips_and_frees_what_it_is_given(
    tmp_path: Path,
) -> None:
    fake = FakeWin32()
    path = tmp_path / "cache.bin"
    store = DpapiStore(path, protector=Crypt32("pepper", win32=fake.win32()))
    PersistentTokenCache(store, clock=lambda: NOW).add(
        user_event(access_token="dp-secret"), now=NOW
    )
    assert path.read_bytes().startswith(b"pepper") and b"dp-secret" not in path.read_bytes()
    assert len(PersistentTokenCache(store).find_accounts()) == 1
    assert fake.allocated == {}


def test_a_failed_dpapi_call_reports_its_own_error_code(tmp_path: Path) -> None:
    """The code is the one ctypes saved as the call returned (``use_last_error``), not a
    later ``GetLastError()``, which reads what ran in between."""
    fake = FakeWin32(fail_with=13)  # ERROR_INVALID_DATA
    crypt32 = Crypt32(win32=fake.win32())
    for call in (crypt32.protect, crypt32.unprotect):
        with pytest.raises(OSError, match="DPAPI call failed") as caught:
            call(b"data")
        assert caught.value.errno == 13
    path = tmp_path / "cache.bin"
    path.write_bytes(b"sealed by someone else")
    with pytest.raises(StoreError, match="cannot be decrypted") as failed:
        DpapiStore(path, protector=crypt32, lock_timeout=1).load()
    assert isinstance(failed.value.__cause__, OSError) and failed.value.__cause__.errno == 13
