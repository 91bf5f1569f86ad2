"""Fixtures of the broker suite: a real dbus-daemon session bus, the dev IdP, and
``tokensmith broker`` (``python -m tokensmith.brokerd``) serving on that bus with a
scripted person as its BROWSER. Debian's dbus-daemon comes from
scripts/broker-deps.sh (``make test``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from tests.session_bus import SessionBus

from tokensmith.broker.wire import BUS_NAME
from tokensmith.devidp import DevIdP

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
FAMILY_ONE = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a51"
FAMILY_TWO = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a52"
ADA = "ada@contoso.onmicrosoft.com"
API_A_SCOPE = "api://tokensmith-api-a/access_as_user"


@pytest.fixture(scope="session")
def idp() -> Iterator[DevIdP]:
    with DevIdP() as server:
        yield server


@pytest.fixture
def bus(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SessionBus]:
    """A session bus of this test's own; ``DBUS_SESSION_BUS_ADDRESS`` points at it."""
    running = SessionBus(tmp_path_factory.mktemp("bus"))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", running.address)
    yield running
    running.stop()


@dataclass
class Daemon:
    """A running ``tokensmith broker`` and what its BROWSER did."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    browser_log: Path
    env: dict[str, str]

    def sign_ins(self) -> int:
        """How many times the broker opened the browser."""
        if not self.browser_log.exists():
            return 0
        return len(self.browser_log.read_text().splitlines())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _wait_for_name(address: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    with open_dbus_connection(bus=address) as conn:
        while True:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner(BUS_NAME))
            if reply.body[0]:
                return
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tokensmith broker did not start ({process.returncode})")
            time.sleep(0.02)


def daemon_command(idp: DevIdP, bus: SessionBus, state_dir: Path, *extra: str) -> list[str]:
    """``python -m tokensmith.brokerd`` for the dev IdP on ``bus``."""
    return [
        sys.executable,
        "-m",
        "tokensmith.brokerd",
        "--authority",
        idp.authority("organizations"),
        "--ca",
        str(idp.ca_path),
        "--state-dir",
        str(state_dir),
        "--bus",
        bus.address,
        "--interactive-timeout",
        "30",
        *extra,
    ]


def start_daemon(idp: DevIdP, bus: SessionBus, state_dir: Path, *extra: str) -> Daemon:
    log = state_dir.parent / f"{state_dir.name}-browser.log"
    env = dict(
        os.environ,
        DBUS_SESSION_BUS_ADDRESS=bus.address,
        BROWSER=str(ROOT / "tests" / "broker" / "browser.sh"),
        TOKENSMITH_TEST_ROOT=str(ROOT),
        TOKENSMITH_TEST_PYTHON=sys.executable,
        TOKENSMITH_TEST_CA=str(idp.ca_path),
        TOKENSMITH_TEST_BROWSER_LOG=str(log),
        PYTHONPATH=str(ROOT),
    )
    command = daemon_command(idp, bus, state_dir, *extra)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _wait_for_name(bus.address, process)
    return Daemon(process, state_dir, log, env)


@pytest.fixture
def daemon(idp: DevIdP, bus: SessionBus, tmp_path: Path) -> Iterator[Daemon]:
    running = start_daemon(idp, bus, tmp_path / "broker-state")
    yield running
    running.stop()
