"""SecretServiceStore on a real gnome-keyring-daemon over a private D-Bus session bus."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import StoreUnavailableError
from tokensmith.stores import PersistentTokenCache
from tokensmith.stores.secretservice import SecretServiceMedium, SecretServiceStore

ATTRS = {"MsalClientID": "tests", "Version": "1"}


def test_the_cache_is_one_libsecret_item_and_never_on_disk(
    secret_service: str, tmp_path: Path, opened: list[Any]
) -> None:
    signal = tmp_path / "cache.bin"

    def store() -> SecretServiceStore:
        made = SecretServiceStore(
            signal, schema_name="tokensmith.tests", attributes=ATTRS, address=secret_service
        )
        opened.append(made)
        return made

    cache = PersistentTokenCache(store(), clock=lambda: NOW)
    cache.add(user_event(access_token="at-in-the-keyring"), now=NOW)
    assert cache.store.is_encrypted  # type: ignore[union-attr]
    assert signal.read_bytes() == b""  # the signal file only changes its mtime
    assert stat.S_IMODE(signal.stat().st_mode) == 0o600
    medium = SecretServiceMedium(
        signal, schema_name="tokensmith.tests", attributes=ATTRS, address=secret_service
    )
    opened.append(medium)
    assert medium.attributes == {**ATTRS, "xdg:schema": "tokensmith.tests"}  # libsecret's
    text = medium.read()
    assert text is not None and "at-in-the-keyring" in text
    assert len(PersistentTokenCache(store(), clock=lambda: NOW).find_accounts()) == 1
    other = SecretServiceMedium(signal, schema_name="another.schema", address=secret_service)
    opened.append(other)
    assert other.read() is None  # another schema name is another item
    medium.delete()
    assert medium.read() is None


def test_two_caches_merge_their_writes_in_one_item(
    secret_service: str, tmp_path: Path, opened: list[Any]
) -> None:
    signal = tmp_path / "cache.bin"
    stores = [SecretServiceStore(signal, address=secret_service) for _ in range(2)]
    opened.extend(stores)
    first, second = (PersistentTokenCache(s, clock=lambda: NOW) for s in stores)
    first.add(user_event(uid="a", utid="t"), now=NOW)
    second.add(user_event(uid="b", utid="t"), now=NOW)
    medium = SecretServiceMedium(signal, address=secret_service)
    opened.append(medium)
    assert len(json.loads(medium.read() or "{}")["Account"]) == 2
    assert len(first.find_accounts()) == 2
    medium.delete()


def test_a_headless_machine_gets_the_documented_error(bare_bus: str, tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="no Secret Service on the D-Bus session bus"):
        SecretServiceStore(tmp_path / "cache.bin", address=bare_bus)
    with pytest.raises(StoreUnavailableError, match="DBUS_SESSION_BUS_ADDRESS"):
        SecretServiceStore(tmp_path / "cache.bin", address="")


def test_plaintext_only_when_opted_in(
    bare_bus: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        store = SecretServiceStore(tmp_path / "cache.bin", address=bare_bus, allow_unencrypted=True)
    assert "plain file (opted in)" in caplog.text
    assert store.is_encrypted is False
    PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    assert "Account" in json.loads((tmp_path / "cache.bin").read_text())


def test_libsecret_itself_finds_and_writes_the_same_item(
    secret_service: str, tmp_path: Path, opened: list[Any]
) -> None:
    """libsecret (secret-tool, Debian's libsecret-tools) as the oracle: msal-extensions'
    LibsecretPersistence looks items up with libsecret by these attributes."""
    import shutil
    import subprocess

    tool = shutil.which("secret-tool") or "/usr/bin/secret-tool"
    env = {"DBUS_SESSION_BUS_ADDRESS": secret_service, "PATH": "/usr/bin:/bin"}
    lookup = [tool, "lookup", "xdg:schema", "tokensmith.oracle", *sum(ATTRS.items(), ())]
    store = SecretServiceStore(
        tmp_path / "cache.bin",
        schema_name="tokensmith.oracle",
        attributes=ATTRS,
        address=secret_service,
    )
    opened.append(store)
    PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    found = subprocess.run(lookup, env=env, capture_output=True, text=True, check=True)
    assert "Account" in json.loads(found.stdout)  # libsecret reads what tokensmith wrote
    written = json.dumps({"Account": {"k": {"home_account_id": "from-libsecret"}}})
    subprocess.run(
        [tool, "store", "--label=", "xdg:schema", "tokensmith.oracle", *sum(ATTRS.items(), ())],
        input=written,
        env=env,
        text=True,
        check=True,
    )
    medium = SecretServiceMedium(
        tmp_path / "cache.bin",
        schema_name="tokensmith.oracle",
        attributes=ATTRS,
        address=secret_service,
    )
    opened.append(medium)
    assert medium.read() == written  # and tokensmith reads what libsecret wrote
    medium.delete()
    gone = subprocess.run(lookup, env=env, capture_output=True, text=True, check=False)
    assert gone.returncode != 0 and gone.stdout == ""  # it was one item, not two


def _raw(medium: SecretServiceMedium, data: bytes | None = None) -> bytes | None:
    """Write ``data`` as the item's secret, as it is (any bytes), or read it."""
    with medium._lock:
        if data is not None:
            properties = {
                "org.freedesktop.Secret.Item.Label": ("s", medium.label),
                "org.freedesktop.Secret.Item.Attributes": ("a{ss}", medium.attributes),
            }
            secret = (medium._session, b"", data, "text/plain")
            medium._call(
                medium._collection_path(),
                "Collection",
                "CreateItem",
                "a{sv}(oayays)b",
                (properties, secret, True),
            )
            return None
        item = medium._item()
        if item is None:
            return None
        ((_, _, value, _),) = medium._call(item, "Item", "GetSecret", "o", (medium._session,))
        return bytes(value)


@pytest.mark.parametrize(
    "damaged",
    [
        b'{"RefreshToken": {"\xff": {"secret": "rt-damaged-secret"}}}',  # not UTF-8
        b'{"RefreshToken": {"k": {"secret": "rt-damaged-secret"}}, TRUNC',  # not JSON
    ],
)
def test_a_damaged_item_is_copied_to_another_item_in_the_keyring(
    secret_service: str,
    tmp_path: Path,
    opened: list[Any],
    caplog: pytest.LogCaptureFixture,
    damaged: bytes,
) -> None:
    """It used to be a raw UnicodeDecodeError (not UTF-8), or overwritten while the log
    named a ``.corrupt-`` file that did not exist (not JSON)."""
    import shutil
    import subprocess

    signal = tmp_path / "cache.bin"
    schema = f"tokensmith.damaged.{len(damaged)}"
    made = [
        SecretServiceMedium(signal, schema_name=name, attributes=ATTRS, address=secret_service)
        for name in (schema, f"{schema}.corrupt")
    ]
    opened.extend(made)
    medium, aside = made
    _raw(medium, damaged)
    store = SecretServiceStore(signal, schema_name=schema, attributes=ATTRS, address=secret_service)
    opened.append(store)
    cache = PersistentTokenCache(store, clock=lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert cache.find_accounts() == []
        cache.add(user_event(), now=NOW)
    assert "Account" in json.loads(medium.read() or "{}")
    assert _raw(aside) == damaged  # the copy, byte for byte, still in the keyring
    assert f"kept as the Secret Service item xdg:schema={schema}.corrupt" in caplog.text
    assert "rt-damaged-secret" not in caplog.text
    assert list(tmp_path.iterdir()) == [signal]  # nothing in plain on disk
    tool = shutil.which("secret-tool") or "/usr/bin/secret-tool"
    env = {"DBUS_SESSION_BUS_ADDRESS": secret_service, "PATH": "/usr/bin:/bin"}
    lookup = [tool, "lookup", "xdg:schema", schema, *sum(ATTRS.items(), ())]
    found = subprocess.run(lookup, env=env, capture_output=True, text=True, check=True)
    assert "Account" in json.loads(found.stdout)  # libsecret finds the cache, not the copy
    medium.delete()
    aside.delete()
