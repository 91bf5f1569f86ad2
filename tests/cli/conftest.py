"""Fixtures of the CLI suite: a home of its own (XDG directories in a temporary
folder) and a ``tokensmith dev-idp`` process on a free loopback port, started as a
person would start it, found by the other commands through ``--profile dev-idp``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.cli._home import Home

ADA = "ada@contoso.onmicrosoft.com"
PASSWORD = "Passw0rd!"
DAEMON = "9b1e4d7a-5c3f-4e2b-8a6d-7f0c2b9e4a15"
DAEMON_SECRET = "dev-secret-not-for-production"


def tokensmith(
    home: Home, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``tokensmith ARGS`` in a pipe (plain output) in ``home``."""
    return subprocess.run(
        [sys.executable, "-m", "tokensmith", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**home.env, **env},
    )


@dataclass
class RunningIdP:
    """The ``tokensmith dev-idp`` process and what its banner said."""

    process: subprocess.Popen[str]
    base_url: str
    ca_path: Path


def start_dev_idp(home: Home, *extra: str) -> RunningIdP:
    """Start ``tokensmith dev-idp`` in ``home`` and wait for its banner."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tokensmith", "dev-idp", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=home.env,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline()]
    while lines[-1] and "Ctrl-C" not in lines[-1]:
        lines.append(process.stdout.readline())
    banner = "".join(lines)
    assert "listening on " in banner, banner
    base_url = banner.split("listening on ", 1)[1].split()[0]
    ca = banner.split("CA certificate : ", 1)[1].split()[0]
    return RunningIdP(process, base_url, Path(ca))


def stop_dev_idp(idp: RunningIdP) -> None:
    idp.process.terminate()
    idp.process.communicate(timeout=30)


@pytest.fixture(scope="session")
def _dev_idp_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev IdP's CA and keys, made once and copied into every home."""
    from tokensmith.devidp import DevIdP

    state = tmp_path_factory.mktemp("devidp-keys")
    with DevIdP(state_dir=state):
        pass
    return state


@pytest.fixture
def home(tmp_path: Path, _dev_idp_keys: Path) -> Home:
    shutil.copytree(_dev_idp_keys, tmp_path / "state" / "tokensmith" / "dev-idp")
    return Home(tmp_path)


@pytest.fixture
def dev_idp(home: Home) -> Iterator[RunningIdP]:
    """A dev IdP that approves every device code at once as Ada."""
    idp = start_dev_idp(home, "--auto-complete-device", ADA)
    yield idp
    stop_dev_idp(idp)
