"""The packaged D-Bus activation file starts the broker on first call, and the daemon
answers what generic D-Bus tools ask (Peer.Ping, Introspect)."""

from __future__ import annotations

import os
import shlex
import signal
import sys
from importlib import resources
from pathlib import Path

from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.io.blocking import open_dbus_connection
from tests.broker.conftest import ROOT, Daemon
from tests.session_bus import SessionBus

from tokensmith.broker import wire
from tokensmith.broker.dbus_client import DBusBroker
from tokensmith.devidp import DevIdP


def _packaged(name: str) -> str:
    return (resources.files("tokensmith.brokerd") / "data" / name).read_text()


def test_the_activation_file_starts_the_broker_on_first_use(
    idp: DevIdP, bus: SessionBus, tmp_path: Path
) -> None:
    text = _packaged("com.microsoft.identity.broker1.service")
    assert "Name=com.microsoft.identity.broker1" in text
    assert "SystemdService=tokensmith-broker.service" in text
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "tokensmith.brokerd",
            "--authority",
            idp.authority(),
            "--ca",
            str(idp.ca_path),
            "--state-dir",
            str(tmp_path / "state"),
            "--bus",
            bus.address,
        ]
    )
    # the packaged file, with this venv's interpreter instead of the installed script
    lines = [
        f"Exec=/usr/bin/env PYTHONPATH={ROOT / 'src'} {command}"
        if line.startswith("Exec=")
        else line
        for line in text.splitlines()
    ]
    (bus.services / "com.microsoft.identity.broker1.service").write_text("\n".join(lines) + "\n")
    broker = DBusBroker.connect(bus.address)  # the call activates it
    try:
        assert broker.capabilities.pop  # it is tokensmith's broker that answered
        assert broker.get_accounts("any-client", "cid") == []
    finally:
        broker.close()
        with open_dbus_connection(bus=bus.address) as conn:  # stop the activated broker
            pid = conn.send_and_get_reply(
                new_method_call(
                    DBusAddress(
                        "/org/freedesktop/DBus",
                        bus_name="org.freedesktop.DBus",
                        interface="org.freedesktop.DBus",
                    ),
                    "GetConnectionUnixProcessID",
                    "s",
                    (wire.BUS_NAME,),
                )
            ).body[0]
        os.kill(pid, signal.SIGTERM)


def test_the_systemd_unit_is_a_dbus_service_of_the_same_name() -> None:
    unit = _packaged("tokensmith-broker.service")
    assert "Type=dbus" in unit and "BusName=com.microsoft.identity.broker1" in unit
    assert "ExecStart=/usr/bin/env tokensmith broker" in unit


def test_ping_and_introspection(bus: SessionBus, daemon: Daemon) -> None:
    target = DBusAddress(wire.OBJECT_PATH, bus_name=wire.BUS_NAME)
    with open_dbus_connection(bus=bus.address) as conn:
        ping = conn.send_and_get_reply(
            new_method_call(
                DBusAddress(wire.OBJECT_PATH, wire.BUS_NAME, "org.freedesktop.DBus.Peer"), "Ping"
            )
        )
        assert ping.header.message_type == MessageType.method_return
        xml = conn.send_and_get_reply(
            new_method_call(
                DBusAddress(wire.OBJECT_PATH, wire.BUS_NAME, "org.freedesktop.DBus.Introspectable"),
                "Introspect",
            )
        ).body[0]
        assert all(f'method name="{m}"' in xml for m in wire.METHODS)
        wrong = conn.send_and_get_reply(
            new_method_call(
                DBusAddress(wire.OBJECT_PATH, wire.BUS_NAME, wire.INTERFACE),
                "getAccounts",
                "s",
                ("only one argument",),
            )
        )
        assert wrong.header.message_type == MessageType.error
        unknown = conn.send_and_get_reply(new_method_call(target, "noSuchMethod"))
        assert unknown.header.message_type == MessageType.error
