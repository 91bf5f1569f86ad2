"""Real servers for the store tests, started and stopped here (never skipped).

- ``redis_url``: Debian's ``redis-server`` on a free loopback port, data in a temp dir
  (no persistence), one per test session; ``redis_client`` flushes it per test.
- ``secret_service``: a private D-Bus session bus (``dbus-daemon``) with
  ``gnome-keyring-daemon`` unlocked with a test password, one per test session.
- ``libsecret_peer``: runs msal-extensions' real ``LibsecretPersistence``
  (``_libsecret_peer.py``) in Debian's ``/usr/bin/python3``, whose ``python3-gi`` and
  ``gir1.2-secret-1`` provide PyGObject, with the venv's msal and msal-extensions.

``scripts/store-deps.sh`` (a prerequisite of ``make test``) installs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _need(program: str) -> str:
    found = shutil.which(program) or (
        f"/usr/bin/{program}" if os.path.exists(f"/usr/bin/{program}") else None
    )
    if found is None:
        raise RuntimeError(f"{program} is missing: run `bash scripts/store-deps.sh`")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = _need("redis-server")
    folder = tempfile.mkdtemp(prefix="tokensmith-redis-")
    port = _free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            folder,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
"""A private session bus with no service activation: only what a fixture starts runs."""


def _start_bus(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = folder / "bus.conf"
    socket_path = folder / "bus"
    config.write_text(_BUS_CONFIG.format(socket=socket_path))
    process = subprocess.Popen(
        [_need("dbus-daemon"), f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    address = process.stdout.readline().decode().strip()
    if not address:
        process.kill()
        raise RuntimeError("dbus-daemon did not start")
    return process, address


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdout is not None:
        process.stdout.close()
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="session")
def bare_bus() -> Iterator[str]:
    """A session bus with no Secret Service on it (a headless machine)."""
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-bus-"))
    bus, address = _start_bus(folder)
    try:
        yield address
    finally:
        _stop(bus)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def secret_service() -> Iterator[str]:
    """A session bus with gnome-keyring-daemon's Secret Service, its login keyring
    unlocked with a test password; yields the bus address."""
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-keyring-"))
    (folder / "run").mkdir(mode=0o700)
    bus, address = _start_bus(folder)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_RUNTIME_DIR": str(folder / "run"),
        "DBUS_SESSION_BUS_ADDRESS": address,
    }
    keyring = subprocess.Popen(
        [_need("gnome-keyring-daemon"), "--foreground", "--components=secrets", "--unlock"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert keyring.stdin is not None
        keyring.stdin.write(b"test-password")
        keyring.stdin.close()
        _wait_for_secrets(address, keyring)
        yield address
    finally:
        _stop(keyring)
        _stop(bus)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_secrets(address: str, keyring: subprocess.Popen[bytes]) -> None:
    from jeepney import DBusAddress, new_method_call
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + 15
    with open_dbus_connection(bus=address) as conn:
        while time.monotonic() < deadline:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets"))
            if reply.body[0]:
                service = DBusAddress(
                    "/org/freedesktop/secrets",
                    bus_name="org.freedesktop.secrets",
                    interface="org.freedesktop.Secret.Service",
                )
                alias = conn.send_and_get_reply(
                    new_method_call(service, "ReadAlias", "s", ("default",))
                )
                if alias.body and alias.body[0] != "/":
                    return
            if keyring.poll() is not None:
                raise RuntimeError("gnome-keyring-daemon exited")
            time.sleep(0.05)
    raise RuntimeError("the Secret Service did not come up")


LibsecretPeer = Callable[..., "subprocess.CompletedProcess[str]"]
_DEBIAN_PYTHON = "/usr/bin/python3"
_PEER = Path(__file__).with_name("_libsecret_peer.py")


@pytest.fixture(scope="session")
def libsecret_peer() -> LibsecretPeer:
    """``peer(job, signal, layout, address=..., stdin=None)``: one run of
    ``_libsecret_peer.py`` on the bus at ``address``; fails the test on a non-zero exit
    unless ``check=False``."""
    if not os.path.exists(_DEBIAN_PYTHON):
        raise RuntimeError("/usr/bin/python3 is missing: run `bash scripts/store-deps.sh`")
    site = sysconfig.get_paths()["purelib"]  # the venv's msal and msal-extensions

    def peer(
        job: str,
        signal: Path | str,
        layout: str = "{}",
        *,
        address: str,
        stdin: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": site,
            "DBUS_SESSION_BUS_ADDRESS": address,
            "HOME": str(Path(signal).parent),
        }
        done = subprocess.run(
            [_DEBIAN_PYTHON, str(_PEER), job, str(signal), layout],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"the libsecret peer failed ({job}):\n{done.stderr}")
        return done

    probe = peer("probe", Path(tempfile.gettempdir()) / "unused", address="", check=False)
    if probe.returncode != 0:  # a machine the set-up did not prepare
        raise RuntimeError(
            "msal-extensions' LibsecretPersistence cannot run in /usr/bin/python3 "
            f"(Python {sys.version_info[0]}.{sys.version_info[1]} venv): "
            f"run `bash scripts/store-deps.sh`\n{probe.stderr}"
        )
    import msal_extensions

    if probe.stdout.split()[0] != msal_extensions.__version__:  # not a system copy
        raise RuntimeError(f"the peer runs msal-extensions {probe.stdout.split()[0]}")
    return peer
