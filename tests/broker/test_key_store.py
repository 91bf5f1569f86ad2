"""The device key in the Secret Service (``--key-store secret-service``): Debian's
gnome-keyring-daemon on the test bus holds it; no key file is written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.broker.conftest import API_A_SCOPE, ROOT, daemon_command, start_daemon
from tests.session_bus import SessionBus

import tokensmith
from tokensmith.devidp import DevIdP

CONSOLE = tokensmith.PublicClientApplication.CONSOLE_WINDOW_HANDLE


def _app(idp: DevIdP) -> tokensmith.PublicClientApplication:
    return tokensmith.PublicClientApplication(
        "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29",
        authority=idp.authority("organizations"),
        verify=str(idp.ca_path),
        enable_broker_on_linux=True,
    )


def test_the_device_key_can_live_in_the_secret_service(
    idp: DevIdP, bus: SessionBus, tmp_path: Path
) -> None:
    bus.start_keyring()
    state = tmp_path / "state"
    daemon = start_daemon(idp, bus, state, "--key-store", "secret-service")
    try:
        with _app(idp) as app:
            app.acquire_token_interactive([API_A_SCOPE], parent_window_handle=CONSOLE)
            [account] = app.get_accounts()
    finally:
        daemon.stop()
    assert not (state / "device.key").exists()
    assert (state / "tokens").exists()
    again = start_daemon(idp, bus, state, "--key-store", "secret-service")
    try:
        with _app(idp) as app:  # the same key, read back from the keyring
            result = app.acquire_token_silent([API_A_SCOPE], account, force_refresh=True)
            assert result is not None and result["token_source"] == "broker"
    finally:
        again.stop()


def test_without_a_secret_service_the_broker_says_so_and_exits_2(
    idp: DevIdP, bus: SessionBus, tmp_path: Path
) -> None:
    command = daemon_command(idp, bus, tmp_path / "state", "--key-store", "secret-service")
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=bus.address, PYTHONPATH=str(ROOT))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Secret Service" in done.stderr and "Traceback" not in done.stderr
