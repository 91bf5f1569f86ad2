"""Real servers for the store tests, started and stopped here (never skipped).

- ``redis_url``: Debian's ``redis-server`` on a free loopback port, data in a temp dir
  (no persistence), one per test session; ``redis_client`` flushes it per test.
- ``secret_service``: a private D-Bus session bus (``dbus-daemon``) with
  ``gnome-keyring-daemon`` unlocked with a test password, one per test session.

``scripts/store-deps.sh`` (a prerequisite of ``make test``) installs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
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
