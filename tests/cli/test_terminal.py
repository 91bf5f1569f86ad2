"""The CLI as a person uses it at a real terminal (Debian's tmux, installed by
scripts/tmux-deps.sh): the countdown while a device code waits, Ctrl-C, a sign-in
completed on the device page, colour tables."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.cli.conftest import ADA, PASSWORD, Home, RunningIdP, start_dev_idp, stop_dev_idp
from tests.devidp._person import enter_device_code, http_client, sign_in

_WAIT = 60.0
"""Seconds a step may take before the test gives up (a bound, not a measurement)."""


class Terminal:
    """A tmux session running an interactive bash in the person's environment."""

    def __init__(self, home: Home) -> None:
        self.socket = str(home.root / "tmux.sock")
        rc = home.root / "bashrc"
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in home.env.items())
        rc.write_text(exports + "export TERM=xterm-256color PS1='$ '\nunset NO_COLOR\n")
        self._tmux("new-session", "-d", "-s", "cli", "-x", "160", "-y", "50",
                   f"bash --noprofile --rcfile {shlex.quote(str(rc))} -i")  # fmt: skip

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def type(self, line: str) -> None:
        self._tmux("send-keys", "-t", "cli", "-l", line)
        self._tmux("send-keys", "-t", "cli", "Enter")

    def press(self, key: str) -> None:
        self._tmux("send-keys", "-t", "cli", key)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-e", "-J", "-t", "cli")

    def wait_for(self, text: str) -> str:
        end = time.monotonic() + _WAIT
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared on the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], check=False)


@pytest.fixture
def terminal(home: Home) -> Iterator[Terminal]:
    term = Terminal(home)
    yield term
    term.close()


@pytest.fixture
def waiting_idp(home: Home) -> Iterator[RunningIdP]:
    """A dev IdP where device codes wait for the person."""
    idp = start_dev_idp(home)
    yield idp
    stop_dev_idp(idp)


def test_device_code_counts_down_and_ctrl_c_cancels(
    terminal: Terminal, waiting_idp: RunningIdP, home: Home
) -> None:
    terminal.type("tokensmith login --profile dev-idp --device-code; echo EXIT=$?")
    screen = terminal.wait_for("left (Ctrl-C cancels)")
    assert "enter the code" in screen and "Waiting for the sign-in: 14:" in screen
    terminal.press("C-c")
    screen = terminal.wait_for("EXIT=130")
    assert "cancelled (Ctrl-C); nothing was saved" in screen and "Traceback" not in screen
    assert not home.cache_file.exists()


def test_device_code_sign_in_by_a_person_then_colour_tables(
    terminal: Terminal, waiting_idp: RunningIdP
) -> None:
    terminal.type("tokensmith login --profile dev-idp --device-code; echo EXIT=$?")
    screen = terminal.wait_for("left (Ctrl-C cancels)")
    code = screen.split("enter the code ", 1)[1].split()[0]
    with http_client(waiting_idp.ca_path) as client:
        enter_device_code(client, f"{waiting_idp.base_url}/devicelogin", code, ADA, PASSWORD)
    screen = terminal.wait_for("EXIT=0")
    assert f"Signed in as {ADA}" in screen
    terminal.type("clear; tokensmith accounts; echo ACCOUNTS-EXIT=$?")
    screen = terminal.wait_for("ACCOUNTS-EXIT=0")
    assert "┃" in screen or "│" in screen, screen  # rich's table on a terminal
    assert "\x1b[" in screen and ADA in screen  # with colour


def test_errors_at_a_terminal_are_one_line_and_a_hint(terminal: Terminal, home: Home) -> None:
    terminal.type("tokensmith token --client-id x; echo EXIT=$?")
    screen = terminal.wait_for("EXIT=2")
    assert "tokensmith: which token? no scope given" in screen and "hint: pass --scope" in screen


def test_browser_sign_in_says_it_waits_then_signs_in(
    terminal: Terminal, waiting_idp: RunningIdP, home: Home
) -> None:
    opened = home.root / "opened-url"
    browser = home.root / "browser.sh"  # the person's browser: shows the page to them
    browser.write_text(f'#!/bin/sh\nprintf %s "$1" > {opened}\n')
    browser.chmod(0o755)
    terminal.type(f"BROWSER={browser} tokensmith login --profile dev-idp; echo EXIT=$?")
    screen = terminal.wait_for("Ctrl-C cancels.")
    assert "Waiting for you to sign in in the browser (gives up in 5:00)" in screen
    url = opened.read_text()
    with http_client(waiting_idp.ca_path) as client:
        answer = sign_in(client, url, ADA, PASSWORD)
    with httpx.Client(trust_env=False) as loopback:  # the browser goes back to the app
        if answer.method == "POST":
            loopback.post(answer.url, data=answer.params)
        else:
            loopback.get(answer.url)
    screen = terminal.wait_for("EXIT=0")
    assert f"Signed in as {ADA}" in screen
