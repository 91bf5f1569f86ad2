"""tokensmith's SecretServiceStore and msal-extensions' real ``LibsecretPersistence``
share one cache on a real gnome-keyring (private D-Bus session bus).

The msal-extensions side runs in Debian's Python with PyGObject (``libsecret_peer``,
see ``_libsecret_peer.py``): the same library azure-identity and the Azure CLI run, in
the layouts they use. Each direction is checked through both caches' own lookups, and
the keyring must hold one item, not one per library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from msal_extensions import FilePersistence, PersistedTokenCache
from tests.unit.cache._helpers import user_event, user_token

from tokensmith.errors import StoreUnavailableError
from tokensmith.stores import PersistentTokenCache
from tokensmith.stores.secretservice import (
    HEADLESS_HINT,
    SecretServiceStore,
    default_schema_name,
)

LibsecretPeer = Callable[..., Any]  # the ``libsecret_peer`` fixture (conftest)
_LOGIN = "/org/freedesktop/secrets/collection/login/"  # the default alias, unlocked
# azure-identity's _persistent_cache._get_persistence on Linux, default cache name
AZURE_SCHEMA = "msal.cache.nocae"
AZURE_ATTRIBUTES = {"MsalClientID": "Microsoft.Developer.IdentityService"}
AZURE_LABEL = "MSALCache"
AZURE_LAYOUT = json.dumps(
    {"schema_name": AZURE_SCHEMA, "attributes": AZURE_ATTRIBUTES, "label": AZURE_LABEL}
)


def _azure_store(signal: Path, address: str, **options: Any) -> SecretServiceStore:
    return SecretServiceStore(
        signal,
        schema_name=AZURE_SCHEMA,
        attributes=AZURE_ATTRIBUTES,
        label=AZURE_LABEL,
        address=address,
        **options,
    )


_ITEM = "org.freedesktop.Secret.Item"


def _items(address: str, attributes: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    """(path, label, attributes) of every keyring item whose attributes include
    ``attributes``, in every collection."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    service = DBusAddress(
        "/org/freedesktop/secrets",
        bus_name="org.freedesktop.secrets",
        interface="org.freedesktop.Secret.Service",
    )
    with open_dbus_connection(bus=address) as conn:
        unlocked, locked = conn.send_and_get_reply(
            new_method_call(service, "SearchItems", "a{ss}", (attributes,))
        ).body
        found = []
        for path in [*unlocked, *locked]:
            item = Properties(DBusAddress(path, bus_name=service.bus_name, interface=_ITEM))
            ((_, label),) = conn.send_and_get_reply(item.get("Label")).body
            ((_, fields),) = conn.send_and_get_reply(item.get("Attributes")).body
            found.append((path, label, dict(fields)))
    return found


def _has_token(cache: PersistentTokenCache, uid: str) -> bool:
    found = user_token(cache, uid, now=time.time())
    return found is not None and found["secret"] == f"at-{uid}"


def _homes(cache: PersistentTokenCache) -> list[str]:
    return sorted(a["home_account_id"] for a in cache.find_accounts())


def test_msal_extensions_defaults_and_tokensmith_defaults_are_one_cache(
    secret_service: str, tmp_path: Path, libsecret_peer: LibsecretPeer, opened: list[Any]
) -> None:
    """``build_encrypted_persistence(path)`` and ``SecretServiceStore(path)``."""
    signal = tmp_path / "msal_cache.bin"
    event = json.dumps(user_event(uid="m", utid="tid"))
    libsecret_peer("add", signal, address=secret_service, stdin=event)
    store = SecretServiceStore(signal, address=secret_service)
    opened.append(store)
    ours = PersistentTokenCache(store)
    assert _homes(ours) == ["m.tid"] and _has_token(ours, "m")  # theirs, read by us
    ours.add(user_event(uid="t", utid="tid"))
    theirs = libsecret_peer("accounts", signal, address=secret_service).stdout
    assert json.loads(theirs) == ["m.tid", "t.tid"]  # ours merged onto theirs, read by them
    later = json.dumps(user_event(uid="n", utid="tid"))
    libsecret_peer("add", signal, address=secret_service, stdin=later)
    assert _homes(ours) == ["m.tid", "n.tid", "t.tid"]  # the live cache sees their write
    assert _has_token(ours, "n")
    schema = {"xdg:schema": default_schema_name(signal)}
    ((path, label, fields),) = _items(secret_service, schema)  # one item, libsecret's
    assert path.startswith(_LOGIN) and label == "" and fields == schema
    assert signal.read_bytes() == b""  # the signal file carries only its mtime
    assert not (tmp_path / "msal_cache.bin.lockfile").exists()  # both released the lock


def test_azure_identity_layout_is_one_cache(
    secret_service: str, tmp_path: Path, libsecret_peer: LibsecretPeer, opened: list[Any]
) -> None:
    """The schema name, attribute and label azure-identity gives LibsecretPersistence;
    tokensmith writes first this time."""
    signal = tmp_path / ".IdentityService" / "msal.cache.nocae"
    signal.parent.mkdir()
    store = _azure_store(signal, secret_service)
    opened.append(store)
    ours = PersistentTokenCache(store)
    ours.add(user_event(uid="t", utid="tid"))
    raw = libsecret_peer("raw", signal, AZURE_LAYOUT, address=secret_service).stdout
    assert raw == store.medium.read()  # byte for byte what we stored, as libsecret reads it
    theirs = libsecret_peer("accounts", signal, AZURE_LAYOUT, address=secret_service).stdout
    assert json.loads(theirs) == ["t.tid"]
    event = json.dumps(user_event(uid="m", utid="tid"))
    libsecret_peer("add", signal, AZURE_LAYOUT, address=secret_service, stdin=event)
    assert _homes(ours) == ["m.tid", "t.tid"] and _has_token(ours, "m")
    schema = {"xdg:schema": AZURE_SCHEMA, **AZURE_ATTRIBUTES}
    ((path, label, fields),) = _items(secret_service, schema)
    assert path.startswith(_LOGIN) and label == AZURE_LABEL and fields == schema
    # the default layout is another item: the schema name is part of the lookup
    other = libsecret_peer("raw", signal, address=secret_service, check=False)
    assert other.returncode != 0 and "PersistenceNotFound" in other.stderr


def test_another_collection_is_shared_when_both_name_it(
    secret_service: str, tmp_path: Path, libsecret_peer: LibsecretPeer, opened: list[Any]
) -> None:
    """``collection`` as libsecret reads it (an alias here, gnome-keyring's in-memory
    ``session``): the item stays there, written by either library."""
    signal = tmp_path / "cache.bin"
    attributes = {"App": "tests"}
    layout = json.dumps(
        {"schema_name": "tokensmith.session", "attributes": attributes, "collection": "session"}
    )
    event = json.dumps(user_event(uid="m", utid="tid"))
    libsecret_peer("add", signal, layout, address=secret_service, stdin=event)
    store = SecretServiceStore(
        signal,
        schema_name="tokensmith.session",
        attributes=attributes,
        collection="session",
        address=secret_service,
    )
    opened.append(store)
    ours = PersistentTokenCache(store)
    ours.add(user_event(uid="t", utid="tid"))
    ((path, _, _),) = _items(secret_service, attributes)  # replaced, not doubled
    assert path.startswith("/org/freedesktop/secrets/collection/session/")
    by_path = SecretServiceStore(  # the collection's object path, as libsecret takes it
        signal,
        schema_name="tokensmith.session",
        attributes=attributes,
        collection=path.rsplit("/", 1)[0],
        address=secret_service,
    )
    opened.append(by_path)
    PersistentTokenCache(by_path).add(user_event(uid="p", utid="tid"))
    assert [found for found, _, _ in _items(secret_service, attributes)] == [path]
    theirs = libsecret_peer("accounts", signal, layout, address=secret_service).stdout
    assert json.loads(theirs) == ["m.tid", "p.tid", "t.tid"]
    nowhere = SecretServiceStore(
        tmp_path / "x.bin", collection="no-such-alias", address=secret_service
    )
    opened.append(nowhere)
    with pytest.raises(StoreUnavailableError, match="no 'no-such-alias' keyring"):
        PersistentTokenCache(nowhere).add(user_event())


def test_a_headless_machine_is_refused_by_both_and_the_opt_in_file_is_shared(
    bare_bus: str, tmp_path: Path, libsecret_peer: LibsecretPeer
) -> None:
    """No Secret Service on the bus: msal-extensions raises (azure-identity then refuses,
    or falls back to FilePersistence at the same path); tokensmith raises the documented
    error, or with ``allow_unencrypted`` writes the plain file that fallback reads."""
    signal = tmp_path / "msal.cache.nocae"
    refused = libsecret_peer("headless", signal, address=bare_bus).stdout
    assert refused.startswith("RuntimeError: libsecret did not perform properly")
    with pytest.raises(StoreUnavailableError) as caught:
        _azure_store(signal, bare_bus)
    assert str(caught.value) == HEADLESS_HINT
    plain = _azure_store(signal, bare_bus, allow_unencrypted=True)
    assert plain.is_encrypted is False
    PersistentTokenCache(plain).add(user_event(uid="t", utid="tid"))
    fallback = PersistedTokenCache(FilePersistence(str(signal)))
    assert [a["home_account_id"] for a in fallback.search("Account")] == ["t.tid"]
