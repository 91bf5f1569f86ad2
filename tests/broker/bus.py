"""A private D-Bus session bus for the broker tests: Debian's dbus-daemon with a
configuration of its own (a unix socket in a temporary directory, a service
directory for activation files), started and stopped by the fixtures."""

from __future__ import annotations

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
                ["dbus-daemon", "--nofork", f"--config-file={config}"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        while not socket.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dbus-daemon did not start ({self._process.returncode})")
            time.sleep(0.01)

    def start_keyring(self) -> None:
        """A Secret Service on this bus: Debian's gnome-keyring-daemon with a login
        keyring of its own, unlocked (MSALRuntime keeps its cache there)."""
        import os

        home = self.root / "keyring-home"
        home.mkdir(exist_ok=True)
        env = dict(
            os.environ,
            DBUS_SESSION_BUS_ADDRESS=self.address,
            HOME=str(home),
            XDG_DATA_HOME=str(home / "data"),
            XDG_RUNTIME_DIR=str(self.root),
        )
        self._keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert self._keyring.stdin is not None
        self._keyring.stdin.write(b"test-keyring-password")
        self._keyring.stdin.close()
        self._wait_for("org.freedesktop.secrets")

    def _wait_for(self, name: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        deadline = time.monotonic() + 10
        with open_dbus_connection(bus=self.address) as conn:
            while not conn.send_and_get_reply(message_bus.NameHasOwner(name)).body[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not appear on the test bus")
                time.sleep(0.02)

    def stop(self) -> None:
        keyring = getattr(self, "_keyring", None)
        if keyring is not None:
            keyring.terminate()
            keyring.wait(10)
        self._process.terminate()
        self._process.wait(10)
