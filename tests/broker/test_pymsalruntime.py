"""Microsoft's own client stack against the open broker: pymsalruntime 0.20.7
(PyPI's manylinux wheel; WebKitGTK from scripts/broker-deps.sh) speaks to
``tokensmith broker`` over the real session bus, under MSAL Python 1.39 with
``enable_broker_on_linux=True`` (b), and under tokensmith's pymsalruntime backend, the
code path Windows and macOS take (c).

MSALRuntime starts once per process (it pings the broker when imported), so each
client runs in a subprocess (tests/broker/peers/msal_peer.py). It keeps its own cache
in the Secret Service: the bus gets gnome-keyring-daemon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from tests.broker.conftest import ADA, DESKTOP, ROOT, Daemon, start_daemon
from tests.session_bus import SessionBus

from tokensmith.devidp import DevIdP


@pytest.fixture
def keyring_daemon(idp: DevIdP, bus: SessionBus, tmp_path: Any) -> Any:
    bus.start_keyring()
    running = start_daemon(idp, bus, tmp_path / "broker-state")
    yield running
    running.stop()


def run_peer(library: str, idp: DevIdP, bus: SessionBus) -> dict[str, Any]:
    env = dict(
        os.environ,
        DBUS_SESSION_BUS_ADDRESS=bus.address,
        REQUESTS_CA_BUNDLE=str(idp.ca_path),
        SSL_CERT_FILE=str(idp.ca_path),
        PYTHONPATH=str(ROOT / "src"),
    )
    env.pop("CURL_CA_BUNDLE", None)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/broker/peers/msal_peer.py"),
            library,
            DESKTOP,
            idp.authority("organizations"),
            "User.Read",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {line["step"]: line["value"] for line in map(json.loads, done.stdout.splitlines())}


@pytest.mark.parametrize("library", ["msal", "tokensmith"])
def test_microsofts_runtime_signs_in_through_the_open_broker(
    library: str, idp: DevIdP, bus: SessionBus, keyring_daemon: Daemon
) -> None:
    steps = run_peer(library, idp, bus)
    assert steps["broker_enabled"] is True
    signed_in = steps["interactive"]
    assert signed_in["token_source"] == "broker", signed_in
    assert signed_in["id_token_claims"]["preferred_username"] == ADA
    assert "refresh_token" not in signed_in
    assert keyring_daemon.sign_ins() == 1  # the broker's browser, through the loopback
    [account] = steps["accounts"]
    assert account["account_source"] == "broker"
    assert steps["silent"]["token_source"] == "broker", steps["silent"]
    assert keyring_daemon.sign_ins() == 1  # the silent call asked nobody
    assert steps["after_remove"] == []


def test_with_no_broker_on_the_bus_both_deactivate_it_silently(
    idp: DevIdP, bus: SessionBus
) -> None:
    """MSALRuntime pings the broker when it is imported and refuses to start without
    one (RuntimeError): MSAL and tokensmith then run in-process, as MSAL's rule 3 says."""
    code = (
        "import sys, msal, tokensmith\n"
        "m = msal.PublicClientApplication(sys.argv[1], authority=sys.argv[2],"
        " enable_broker_on_linux=True, instance_discovery=False)\n"
        "t = tokensmith.PublicClientApplication(sys.argv[1], authority=sys.argv[2],"
        " enable_broker_on_linux=True, broker_backend='pymsalruntime')\n"
        "print(m._enable_broker, t._broker)\n"
    )
    env = dict(
        os.environ,
        DBUS_SESSION_BUS_ADDRESS=bus.address,
        PYTHONPATH=str(ROOT / "src"),
        REQUESTS_CA_BUNDLE=str(idp.ca_path),  # MSAL discovers the authority when built
    )
    env.pop("CURL_CA_BUNDLE", None)
    done = subprocess.run(
        [sys.executable, "-c", code, DESKTOP, idp.authority("organizations")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "None"]
