"""A private D-Bus session bus for the broker and store tests: Debian's dbus-daemon
with a configuration of its own (a unix socket in a temporary directory, a service
directory for activation files, empty unless a test writes one), and on request
gnome-keyring-daemon's Secret Service on it; started and stopped by the fixtures.
``scripts/broker-deps.sh`` and ``scripts/store-deps.sh`` install both programs."""

from __future__ import annotations

import os
import shutil
import socket as socket_module
import subprocess
import time
from pathlib import Path

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SessionBus:
    """A running dbus-daemon; ``address`` is its ``DBUS_SESSION_BUS_ADDRESS``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.services = root / "services"
        self.services.mkdir(parents=True, exist_ok=True)
        socket = root / "bus"
        config = root / "bus.conf"
        config.write_text(_CONFIG.format(socket=socket, services=self.services))
        self.address = f"unix:path={socket}"
        self.log = root / "bus.log"  # dbus-daemon's own messages (activation failures)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [need("dbus-daemon"), "--nofork", f"--config-file={config}"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        # the socket file appears at bind(), before the daemon listens: a client that
        # connects in between is refused, so wait until a connection is taken
        while not _accepts(socket):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dbus-daemon did not start ({self._process.returncode})")
            time.sleep(0.01)

    def start_keyring(self, *, unlock: bool = True) -> None:
        """A Secret Service on this bus: Debian's gnome-keyring-daemon with a login
        keyring of its own, unlocked; returns once its default collection answers.
        ``unlock=False``: started as in a bare container (no password, no ``--unlock``),
        with no default collection, only the ``session`` one; returns once it answers."""
        home = self.root / "keyring-home"
        home.mkdir(exist_ok=True)
        env = dict(
            os.environ,
            DBUS_SESSION_BUS_ADDRESS=self.address,
            HOME=str(home),
            XDG_DATA_HOME=str(home / "data"),
            XDG_RUNTIME_DIR=str(self.root),
        )
        flags = ["--foreground", "--unlock", "--components=secrets"]
        self._keyring = subprocess.Popen(
            [need("gnome-keyring-daemon"), *(flags if unlock else flags[::2])],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert self._keyring.stdin is not None
        if unlock:
            self._keyring.stdin.write(b"test-keyring-password")
        self._keyring.stdin.close()
        self._wait_for_secrets("default" if unlock else "session")

    def _wait_for_secrets(self, collection: str) -> None:
        from jeepney import DBusAddress, new_method_call
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        service = DBusAddress(
            "/org/freedesktop/secrets",
            bus_name="org.freedesktop.secrets",
            interface="org.freedesktop.Secret.Service",
        )
        deadline = time.monotonic() + 15
        with open_dbus_connection(bus=self.address) as conn:
            while time.monotonic() < deadline:
                owned = conn.send_and_get_reply(message_bus.NameHasOwner(service.bus_name))
                if owned.body[0]:
                    alias = conn.send_and_get_reply(
                        new_method_call(service, "ReadAlias", "s", (collection,))
                    )
                    if alias.body and alias.body[0] != "/":
                        return
                if self._keyring.poll() is not None:
                    raise RuntimeError("gnome-keyring-daemon exited")
                time.sleep(0.05)
        raise RuntimeError("the Secret Service did not come up on the test bus")

    def stop(self) -> None:
        keyring = getattr(self, "_keyring", None)
        if keyring is not None:
            keyring.terminate()
            keyring.wait(10)
        self._process.terminate()
        self._process.wait(10)


def _accepts(path: Path) -> bool:
    """True once a unix socket at ``path`` takes a connection."""
    probe = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    finally:
        probe.close()
    return True


def need(program: str) -> str:
    """The path of a program the set-up installs, or an error naming the set-up."""
    found = shutil.which(program) or (
        f"/usr/bin/{program}" if os.path.exists(f"/usr/bin/{program}") else None
    )
    if found is None:
        raise RuntimeError(f"{program} is missing: run `bash scripts/store-deps.sh`")
    return found
