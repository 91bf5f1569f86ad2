"""Review of the encrypted stores: a restarted Secret Service, a cache too large for
D-Bus (real dbus-daemon and gnome-keyring-daemon on a private bus)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.session_bus import SessionBus
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import StoreError, StoreUnavailableError
from tokensmith.stores import PersistentTokenCache
from tokensmith.stores.secretservice import SecretServiceMedium, SecretServiceStore


def _keyring_bus(*, unlock: bool) -> Iterator[SessionBus]:
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-review-"))  # (a short socket path)
    bus = SessionBus(folder)
    try:
        bus.start_keyring(unlock=unlock)
        yield bus
    finally:
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def own_keyring() -> Iterator[SessionBus]:
    """A bus and gnome-keyring-daemon of this test's own (it restarts the daemon)."""
    yield from _keyring_bus(unlock=True)


def test_a_store_outlives_a_restart_of_the_secret_service(
    own_keyring: SessionBus, tmp_path: Path, opened: list[Any]
) -> None:
    """The new gnome-keyring-daemon knows no session of the old one: every read and
    write was a StoreError (NoSession) until the process restarted."""
    store = SecretServiceStore(tmp_path / "cache.bin", address=own_keyring.address)
    opened.append(store)
    cache = PersistentTokenCache(store, clock=lambda: NOW)
    cache.add(user_event(uid="a", utid="t"), now=NOW)
    daemon = own_keyring._keyring  # (SessionBus keeps it; stopped here only)
    daemon.terminate()
    daemon.wait(10)
    own_keyring.start_keyring()  # the same keyring files: the item is still there
    cache.add(user_event(uid="b", utid="t"), now=NOW)
    _, state = store.load()
    assert state is not None and len(state["Account"]) == 2


def test_a_cache_too_large_for_d_bus_is_a_store_error(
    secret_service: str, tmp_path: Path, opened: list[Any]
) -> None:
    """jeepney's SizeLimitError (a ValueError) came out of the store unmapped."""
    medium = SecretServiceMedium(
        tmp_path / "cache.bin", schema_name="tokensmith.huge", address=secret_service
    )
    opened.append(medium)
    huge = json.dumps({"AppMetadata": {"k": {"pad": "x" * (65 << 20)}}})
    with pytest.raises(StoreError, match="too large for D-Bus"):
        medium.write(huge)
    medium.write("{}")  # the connection is still usable
    assert medium.read() == "{}"
    medium.delete()


@pytest.mark.parametrize("service_name", [None, ""])
def test_a_keychain_service_name_of_none_or_empty_is_msal_extensions_default(
    tmp_path: Path, service_name: str | None
) -> None:
    """KeychainPersistence(signal, service_name=None or "") uses "msal-extensions";
    tokensmith used None (a bare AttributeError in the real backend) or "" (another
    item)."""
    from tests.stores.test_keychain_dpapi import FakeKeychain

    from tokensmith.stores.keychain import KeychainStore

    keychain = FakeKeychain()
    store = KeychainStore(tmp_path / "cache.bin", service_name=service_name, backend=keychain)
    PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    ((service, _),) = keychain.items
    assert service == "msal-extensions"


def test_dpapi_entropy_none_is_accepted_as_msal_extensions_does(tmp_path: Path) -> None:
    """FilePersistenceWithDataProtection(location, entropy=None) is no entropy; here it
    was a bare AttributeError (``None.encode``), before even the platform check."""
    from tokensmith.errors import StoreUnavailableError
    from tokensmith.stores.dpapi import DpapiStore

    with pytest.raises(StoreUnavailableError, match="DPAPI exists on Windows only"):
        DpapiStore(tmp_path / "cache.bin", entropy=None)


@pytest.fixture
def keyring_without_default() -> Iterator[SessionBus]:
    """gnome-keyring-daemon as a container starts it: no --unlock, so no default
    collection (only ``session``)."""
    yield from _keyring_bus(unlock=False)


def test_a_service_without_a_default_keyring_is_unavailable_and_the_opt_in_applies(
    keyring_without_default: SessionBus, tmp_path: Path, opened: list[Any]
) -> None:
    """The store was built as encrypted and every write then failed, allow_unencrypted
    or not; msal-extensions refuses at construction, so azure-identity falls back."""
    address = keyring_without_default.address
    with pytest.raises(StoreUnavailableError, match=r"no 'default' keyring.*allow_unencrypted"):
        SecretServiceStore(tmp_path / "cache.bin", address=address)
    plain = SecretServiceStore(tmp_path / "cache.bin", address=address, allow_unencrypted=True)
    opened.append(plain)
    assert plain.is_encrypted is False
    PersistentTokenCache(plain, clock=lambda: NOW).add(user_event(uid="a", utid="t"), now=NOW)
    assert json.loads((tmp_path / "cache.bin").read_text())["Account"]
    named = SecretServiceStore(tmp_path / "other.bin", address=address, collection="session")
    opened.append(named)
    assert named.is_encrypted is True  # a collection named is the app's choice: kept
