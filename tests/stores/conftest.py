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
from tests.session_bus import SessionBus, need


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = need("redis-server")
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


@pytest.fixture
def opened() -> Iterator[list[Any]]:
    """Everything a test opens, closed after it (D-Bus connections)."""
    things: list[Any] = []
    yield things
    for thing in things:
        thing.close()


@pytest.fixture(scope="session")
def bare_bus() -> Iterator[str]:
    """A session bus with no Secret Service on it (a headless machine)."""
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-bus-"))
    bus = SessionBus(folder)
    try:
        yield bus.address
    finally:
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def secret_service() -> Iterator[str]:
    """A session bus with gnome-keyring-daemon's Secret Service, its login keyring
    unlocked with a test password; yields the bus address."""
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-keyring-"))
    bus = SessionBus(folder)
    try:
        bus.start_keyring()
        yield bus.address
    finally:
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)


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
