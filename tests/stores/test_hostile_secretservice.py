"""Hostile conditions for SecretServiceStore: layout arguments D-Bus cannot carry, a bus
address at a D-Bus peer that is no message bus (real gnome-keyring-daemon on a private
bus where a keyring is needed; a fake peer on a unix socket here)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.session_bus import SessionBus
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import ConfigurationError, StoreUnavailableError
from tokensmith.stores import PersistentTokenCache
from tokensmith.stores.secretservice import GONE_HINT, HEADLESS_HINT, SecretServiceStore


@pytest.mark.parametrize(
    "layout",
    [
        {"attributes": {"MsalClientID": 1}},
        {"attributes": {"MsalClientID": "\udc80"}},  # a lone surrogate (JSON's \udc80)
        {"attributes": {"MsalClientID": "a\0b"}},
        {"attributes": [("MsalClientID", "x")]},
        {"label": None},
        {"label": "MSAL\0Cache"},
        {"schema_name": 3},
        {"collection": "not/a path"},
        {"collection": 7},
        {"address": 123},
    ],
    ids=[
        "int-value",
        "surrogate",
        "nul-value",
        "pairs",
        "no-label",
        "nul-label",
        "int-schema",
        "bad-path",
        "int-collection",
        "int-address",
    ],
)
def test_a_layout_d_bus_cannot_carry_is_a_configuration_error_at_construction(
    secret_service: str, tmp_path: Path, opened: list[Any], layout: dict[str, Any]
) -> None:
    """It was built, then the first lookup raised a bare TypeError, UnicodeEncodeError or
    ValueError from jeepney (a NUL made the bus drop the connection: "connection lost");
    an int address was a bare AttributeError. allow_unencrypted is no way around it."""
    options = {"address": secret_service, **layout}
    with pytest.raises(ConfigurationError) as caught:
        store = SecretServiceStore(tmp_path / "cache.bin", allow_unencrypted=True, **options)
        opened.append(store)
        PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    assert type(caught.value) is ConfigurationError
    assert "\udc80" not in str(caught.value) and "MsalClientID" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing made: no signal file, no plain cache


def _refuse_hellos(server: socket.socket, count: int) -> None:
    """Speak D-Bus as a peer that is no bus (a program's private D-Bus socket) to
    ``count`` connections, one after the other."""
    for _ in range(count):
        _refuse_hello(server)


def _refuse_hello(server: socket.socket) -> None:
    """Accept the EXTERNAL authentication, answer the first message (the bus's Hello)
    with an UnknownMethod error, then close."""
    from jeepney import new_error
    from jeepney.low_level import Parser

    peer, _ = server.accept()
    with peer:
        received = b""
        while b"BEGIN\r\n" not in received:
            chunk = peer.recv(4096)
            if not chunk:
                return
            received += chunk
            if received.endswith(b"\r\n") and b"AUTH" in received.split(b"\r\n")[-2]:
                peer.sendall(b"OK " + b"0123456789abcdef" * 2 + b"\r\n")
        parser = Parser()
        parser.add_data(received.split(b"BEGIN\r\n", 1)[1])
        hello = parser.get_next_message()
        while hello is None:
            parser.add_data(peer.recv(4096))
            hello = parser.get_next_message()
        refusal = new_error(hello, "org.freedesktop.DBus.Error.UnknownMethod", "s", ("no",))
        peer.sendall(refusal.serialise(serial=1))


@pytest.fixture
def d_bus_peer(tmp_path: Path) -> Iterator[str]:
    """The address of a unix socket where a D-Bus peer that is no bus answers two
    connections (``_refuse_hellos``)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="tokensmith-peer-"))  # (a short socket path)
    path = folder / "peer"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    thread = threading.Thread(target=_refuse_hellos, args=(server, 2), daemon=True)
    thread.start()
    try:
        yield f"unix:path={path}"
    finally:
        thread.join(10)
        server.close()
        path.unlink()
        folder.rmdir()


def test_a_d_bus_peer_that_is_no_bus_is_no_secret_service(d_bus_peer: str, tmp_path: Path) -> None:
    """Its refused Hello came out as jeepney's bare DBusErrorResponse, and
    allow_unencrypted=True did not fall back."""
    with pytest.raises(StoreUnavailableError) as caught:
        SecretServiceStore(tmp_path / "cache.bin", address=d_bus_peer)
    assert str(caught.value) == f"{HEADLESS_HINT} (ValueError)"
    plain = SecretServiceStore(tmp_path / "cache.bin", address=d_bus_peer, allow_unencrypted=True)
    assert plain.is_encrypted is False


def test_a_store_whose_service_stopped_says_so_not_headless(tmp_path: Path) -> None:
    # A store that worked lost its gnome-keyring-daemon: the error said "a headless
    # machine, an SSH session or a container? ... pass allow_unencrypted=True", which
    # sent its reader the wrong way (and to a plain file beside the keyring's cache).
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-gone-"))  # (a short socket path)
    bus = SessionBus(folder)
    try:
        bus.start_keyring(unlock=True)
        store = SecretServiceStore(tmp_path / "cache.bin", address=bus.address)
        try:
            store.apply([])  # answered: the service is there
            daemon = bus._keyring  # (SessionBus keeps it; stopped here only)
            daemon.terminate()
            daemon.wait(10)
            with pytest.raises(StoreUnavailableError) as caught:
                store.load()
            assert str(caught.value).startswith(GONE_HINT)
            assert "allow_unencrypted" not in str(caught.value)
        finally:
            store.close()
    finally:
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)
