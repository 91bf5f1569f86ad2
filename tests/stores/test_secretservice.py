"""SecretServiceStore on a real gnome-keyring-daemon over a private D-Bus session bus."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import StoreError, StoreUnavailableError
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
                returns="oo",
            )
            return None
        item = medium._item()
        if item is None:
            return None
        ((_, _, value, _),) = medium._call(
            item, "Item", "GetSecret", "o", (medium._session,), returns="(oayays)"
        )
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


@pytest.fixture
def locked_keyring() -> Iterator[tuple[str, Callable[[], None]]]:
    """A bus and gnome-keyring-daemon of this test's own (locking the session's keyring
    would lock it for the other tests: unlocking it again needs a prompt); yields
    ``(address, lock)``, ``lock()`` locking its default keyring (no prompt needed)."""
    import shutil
    import tempfile

    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from tests.session_bus import SessionBus

    folder = Path(tempfile.mkdtemp(prefix="tokensmith-locked-"))  # (a short socket path)
    bus = SessionBus(folder)
    service = DBusAddress(
        "/org/freedesktop/secrets",
        bus_name="org.freedesktop.secrets",
        interface="org.freedesktop.Secret.Service",
    )

    def lock() -> None:
        with open_dbus_connection(bus=bus.address) as conn:
            (path,) = conn.send_and_get_reply(
                new_method_call(service, "ReadAlias", "s", ("default",))
            ).body
            locked, prompt = conn.send_and_get_reply(
                new_method_call(service, "Lock", "ao", ([path],))
            ).body
            assert locked == [path] and prompt == "/"

    try:
        bus.start_keyring()
        yield bus.address, lock
    finally:
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_locked_keyring_is_no_fallback_and_its_error_says_to_unlock_it(
    locked_keyring: tuple[str, Callable[[], None]], tmp_path: Path, opened: list[Any]
) -> None:
    """The error used to say "or pass allow_unencrypted=True" to a caller who had (and
    the store raises all the same: the flag only applies with no Secret Service); a
    write of a new item was a bare StoreError naming the D-Bus error."""
    address, lock = locked_keyring
    signal = tmp_path / "cache.bin"

    def cache(schema: str) -> PersistentTokenCache:
        store = SecretServiceStore(
            signal, schema_name=schema, address=address, allow_unencrypted=True
        )
        opened.append(store)
        assert store.is_encrypted  # a keyring exists: no plain file, locked or not
        return PersistentTokenCache(store, clock=lambda: NOW)

    cache("tokensmith.locked").add(user_event(), now=NOW)
    lock()
    held, new = cache("tokensmith.locked"), cache("tokensmith.new")
    assert new.find_accounts() == []  # a locked keyring shows no item of that name
    calls: list[Callable[[], object]] = [
        held.find_accounts,  # the item is there, locked
        lambda: held.add(user_event(uid="b"), now=NOW),
        lambda: new.add(user_event(uid="c"), now=NOW),  # a new item in a locked keyring
    ]
    for call in calls:
        with pytest.raises(StoreUnavailableError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith("the keyring holding the token cache is locked: unlock it")
        assert "allow_unencrypted=True does not apply" in message
        assert "or pass allow_unencrypted" not in message
    assert list(tmp_path.iterdir()) == [signal]  # nothing in plain on disk
    assert signal.read_bytes() == b""


def test_a_bus_address_jeepney_cannot_use_is_no_secret_service(tmp_path: Path) -> None:
    """A tcp: session bus (jeepney speaks unix sockets only) raised a bare RuntimeError,
    and allow_unencrypted=True did not fall back."""
    tcp = "tcp:host=127.0.0.1,port=1"
    with pytest.raises(StoreUnavailableError, match="no Secret Service on the D-Bus"):
        SecretServiceStore(tmp_path / "cache.bin", address=tcp)
    store = SecretServiceStore(tmp_path / "cache.bin", address=tcp, allow_unencrypted=True)
    assert store.is_encrypted is False


_ITEM = "/org/freedesktop/secrets/collection/login/1"


def _serve(conn: Any, get_secret: tuple[str, tuple[Any, ...]]) -> None:
    """Answer as a Secret Service with one item, whose GetSecret answers ``get_secret``
    (signature, body), until the bus goes away."""
    from jeepney import MessageType, new_method_return

    answers = {
        "OpenSession": ("vo", (("s", ""), "/org/freedesktop/secrets/session/1")),
        "ReadAlias": ("o", ("/org/freedesktop/secrets/collection/login",)),
        "SearchItems": ("aoao", ([_ITEM], [])),
        "GetSecret": get_secret,
    }
    while True:
        try:
            message = conn.receive()
        except OSError:  # (the bus stopped)
            return
        if message.header.message_type == MessageType.method_call:
            from jeepney.low_level import HeaderFields

            signature, body = answers[message.header.fields[HeaderFields.member]]
            conn.send(new_method_return(message, signature, body))


@pytest.fixture
def odd_service(request: pytest.FixtureRequest) -> Iterator[str]:
    """A bus of this test's own with a Secret Service (a thread here) whose GetSecret
    answers ``request.param`` (signature, body); yields the bus address."""
    import shutil
    import tempfile
    import threading

    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    from tests.session_bus import SessionBus

    folder = Path(tempfile.mkdtemp(prefix="tokensmith-odd-"))  # (a short socket path)
    bus = SessionBus(folder)
    try:
        with open_dbus_connection(bus=bus.address) as conn:
            owner = message_bus.RequestName("org.freedesktop.secrets")
            assert conn.send_and_get_reply(owner).body == (1,)  # the primary owner
            server = threading.Thread(target=_serve, args=(conn, request.param), daemon=True)
            server.start()
            try:
                yield bus.address
            finally:
                bus.stop()
                server.join(10)
    finally:
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    "odd_service",
    [
        ("s", ("secret-in-reply",)),  # no struct at all
        ("(oayays)(oayays)", (("/", b"", b"secret-in-reply", "text/plain"),) * 2),  # two
        ("(oayss)", (("/", b"", "secret-in-reply", "text/plain"),)),  # a str value
        ("(oayais)", (("/", b"", [300, 301], "text/plain"),)),  # integers
        ("(oayais)", (("/", b"", [115, 101], "text/plain"),)),  # integers bytes() takes
    ],
    indirect=True,
    ids=["string", "two-structs", "str-value", "int-value", "byte-sized-ints"],
)
def test_a_get_secret_reply_of_another_shape_is_a_store_error(
    odd_service: str, tmp_path: Path, opened: list[Any]
) -> None:
    """It was a bare ValueError or TypeError from unpacking the reply (or, for integers
    that fit in a byte, a secret made of them)."""
    medium = SecretServiceMedium(tmp_path / "cache.bin", address=odd_service)
    opened.append(medium)
    with pytest.raises(StoreError) as caught:
        medium.read()
    assert type(caught.value) is StoreError
    message = str(caught.value)
    assert message.startswith("Secret Service GetSecret answered ")
    assert "secret-in-reply" not in message and "300" not in message


@pytest.mark.timeout(30)  # (before the fix: for ever, no reader to open the pipe)
@pytest.mark.parametrize("reader", [False, True], ids=["no reader", "a reader"])
def test_a_fifo_at_the_signal_file_is_a_store_error_not_a_hang(
    secret_service: str, tmp_path: Path, opened: list[Any], reader: bool
) -> None:
    """Opening a named pipe to write waits for a reader; with one, it was touched as
    if it were the signal file."""
    from tests.stores.test_keychain_dpapi import fifo_at

    signal = tmp_path / "cache.bin"
    store = SecretServiceStore(signal, schema_name="tokensmith.fifo", address=secret_service)
    opened.append(store)
    with fifo_at(signal, reader=reader), pytest.raises(StoreError) as caught:
        PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    assert str(caught.value) == f"cannot touch the signal file {signal}: not a regular file"
    medium = SecretServiceMedium(signal, schema_name="tokensmith.fifo", address=secret_service)
    opened.append(medium)
    medium.delete()
