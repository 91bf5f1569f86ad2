"""The stores' public surface: one module, lazy imports, the platform's encrypted store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from msal_extensions.filelock import CrossPlatLock

import tokensmith.stores
from tokensmith.errors import ConfigurationError, StoreLockTimeout, StoreUnavailableError
from tokensmith.stores import encrypted_store
from tokensmith.stores.lockfile import lockfile_of


def test_importing_tokensmith_and_its_stores_loads_no_backend() -> None:
    code = (
        "import sys, tokensmith, tokensmith.stores\n"
        "from tokensmith.stores import PersistentTokenCache, SqliteStore, RedisStore\n"
        "print(sorted(m for m in ('sqlite3', 'redis', 'jeepney') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in tokensmith.stores.__all__:
        assert getattr(tokensmith.stores, name).__name__ == name
    with pytest.raises(AttributeError):
        tokensmith.stores.NoSuchStore  # noqa: B018


def test_the_encrypted_store_on_a_headless_linux(
    bare_bus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bare_bus)
    with pytest.raises(StoreUnavailableError, match="allow_unencrypted=True"):
        encrypted_store(tmp_path / "cache.bin")
    store = encrypted_store(tmp_path / "cache.bin", allow_unencrypted=True)
    assert getattr(store, "is_encrypted") is False  # noqa: B009


def test_the_encrypted_store_takes_its_lock_timeout(
    bare_bus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bare_bus)
    path = tmp_path / "cache.bin"
    assert encrypted_store(path, allow_unencrypted=True).lock_timeout == 10.0
    store = encrypted_store(path, allow_unencrypted=True, lock_timeout=0.2)
    with CrossPlatLock(str(lockfile_of(path))), pytest.raises(StoreLockTimeout):
        store.replace_all({})
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        encrypted_store(path, allow_unencrypted=True, lock_timeout=-1)


def test_a_bad_lock_timeout_is_refused_before_a_folder_or_a_bus_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msal_extensions import FilePersistence

    from tokensmith.stores import FileStore, PersistenceStore
    from tokensmith.stores.secretservice import SecretServiceStore

    folder = tmp_path / "new"
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        FileStore(folder / "cache.json", lock_timeout=-1)
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        PersistenceStore(FilePersistence(str(tmp_path / "p.json")), lock_timeout=float("nan"))
    assert not folder.exists()  # (the file medium makes the folder it writes in)
    # no bus is opened either: at an address nothing listens at, opening one is
    # "unavailable" (as the second call shows)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        SecretServiceStore(folder / "signal", lock_timeout=True)
    assert not folder.exists()
    with pytest.raises(StoreUnavailableError):
        SecretServiceStore(folder / "signal")
