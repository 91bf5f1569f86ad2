"""Secrets never leave the dev IdP by accident (STYLE.md habit 9): passwords, client
secrets, authorization codes, refresh tokens, device codes and access tokens appear
neither in its log output at any level, nor on the CLI's stderr, nor in error
descriptions."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.devidp._person import http_client, sign_in
from tests.devidp.conftest import (
    ADA,
    API_A,
    API_A_SCOPE,
    API_A_SECRET,
    CONTOSO,
    DAEMON,
    DAEMON_SECRET,
    DESKTOP,
    PASSWORD,
)

from tokensmith.devidp import DevIdP, default_config

_WRONG_PASSWORD = "Wr0ng-Passw0rd-7f3a"
_WRONG_SECRET = "wrong-secret-9c2e"
_SECRET_KINDS = ("access_token", "refresh_token", "id_token", "code", "device_code")


class _Flows:
    """Runs every grant against a dev IdP with a plain HTTP client and remembers every
    secret that crossed the wire and every error body that came back."""

    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self.http, self.base = http, base_url
        self.secrets: set[str] = {PASSWORD, DAEMON_SECRET, API_A_SECRET}
        self.secrets |= {_WRONG_PASSWORD, _WRONG_SECRET}
        self.errors: list[dict[str, Any]] = []

    def token(self, tenant: str = CONTOSO, **form: str) -> dict[str, Any]:
        response = self.http.post(f"{self.base}/{tenant}/oauth2/v2.0/token", data=form)
        body: dict[str, Any] = response.json()
        self.secrets |= {str(body[k]) for k in _SECRET_KINDS if body.get(k)}
        if "error" in body:
            self.errors.append(body)
        return body

    def run_all(self) -> None:
        password = {"grant_type": "password", "client_id": DESKTOP, "username": ADA}
        user = self.token(**password, password=PASSWORD, scope=f"{API_A_SCOPE} offline_access")
        self.token(**password, password=_WRONG_PASSWORD, scope="User.Read")
        refresh = {"grant_type": "refresh_token", "client_id": DESKTOP}
        self.token(**refresh, refresh_token=user["refresh_token"], scope="User.Read openid")
        self.token(**refresh, refresh_token=user["refresh_token"] + "x", scope="User.Read")
        daemon = {"grant_type": "client_credentials", "client_id": DAEMON}
        scope = "https://graph.microsoft.com/.default"
        self.token(**daemon, client_secret=DAEMON_SECRET, scope=scope)
        self.token(**daemon, client_secret=_WRONG_SECRET, scope=scope)
        self.token(
            grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
            requested_token_use="on_behalf_of",
            client_id=API_A,
            client_secret=API_A_SECRET,
            assertion=user["access_token"],
            scope="api://tokensmith-api-b/Data.Read",
        )
        self.auth_code()
        self.device_code()
        bad_request = f"/x?client_secret={DAEMON_SECRET}&password={PASSWORD}"
        self.http.request("BREW", self.base + bad_request)
        self.http.get(self.base + bad_request)

    def auth_code(self) -> None:
        url = httpx.URL(
            f"{self.base}/organizations/oauth2/v2.0/authorize",
            params={
                "client_id": DESKTOP,
                "response_type": "code",
                "redirect_uri": "http://localhost:5000",
                "scope": "User.Read openid offline_access",
            },
        )
        code = sign_in(self.http, str(url), ADA, PASSWORD).params["code"]
        self.secrets.add(code)
        form = {
            "grant_type": "authorization_code",
            "client_id": DESKTOP,
            "redirect_uri": "http://localhost:5000",
            "code": code,
        }
        self.token("organizations", **form)
        self.token("organizations", **form)  # already redeemed: an error

    def device_code(self) -> None:
        start = self.http.post(
            f"{self.base}/organizations/oauth2/v2.0/devicecode",
            data={"client_id": DESKTOP, "scope": "User.Read offline_access"},
        ).json()
        self.secrets.add(start["device_code"])
        poll = {"grant_type": "device_code", "client_id": DESKTOP}
        self.token("organizations", **poll, device_code=start["device_code"])  # pending
        self.http.post(
            f"{self.base}/devicelogin",
            data={"otc": start["user_code"], "login": ADA, "passwd": PASSWORD, "step": "login"},
        )
        self.token("organizations", **poll, device_code=start["device_code"])

    def assert_absent_from(self, text: str) -> None:
        assert self.errors, "the flows produced no errors to check"
        leaked = [s[:12] + "..." for s in self.secrets if s in text]
        assert not leaked
        for error in self.errors:
            description = json.dumps(error)
            assert not [s for s in self.secrets if s in description], error["error"]


@pytest.fixture
def http(idp: DevIdP) -> Iterator[httpx.Client]:
    with http_client(idp.ca_path) as client:
        yield client


def test_no_secret_in_debug_logs_or_error_descriptions(
    idp: DevIdP, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flows = _Flows(http, idp.base_url)
    flows.run_all()
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "tokensmith.devidp" for r in ours), "nothing logged at DEBUG"
    text = "\n".join(logging.Formatter().format(r) for r in ours)  # with tracebacks
    flows.assert_absent_from(text)


def test_an_unexpected_error_is_logged_without_its_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_sleep(seconds: float) -> None:
        raise RuntimeError(f"boom {DAEMON_SECRET}")

    caplog.set_level(logging.DEBUG)
    with DevIdP(default_config(), state_dir=tmp_path, sleep=broken_sleep) as server:
        server.faults.add("delay", client_id=DAEMON)
        with http_client(server.ca_path) as client:
            response = client.post(
                f"{server.base_url}/{CONTOSO}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": DAEMON,
                    "client_secret": DAEMON_SECRET,
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert "RuntimeError" in caplog.text
    assert DAEMON_SECRET not in caplog.text and DAEMON_SECRET not in response.text


def test_no_secret_on_the_cli_stderr_at_debug_level(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "tokensmith.cli", "dev-idp", "--port", "0",
        "--state-dir", str(tmp_path), "--log-level", "debug",
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        banner = [process.stdout.readline()]
        while banner[-1] and "Ctrl-C" not in banner[-1]:
            banner.append(process.stdout.readline())
        base = banner[0].split("listening on ", 1)[1].strip()
        try:
            with http_client(tmp_path / "ca.pem") as client:
                flows = _Flows(client, base)
                flows.run_all()
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "/oauth2/v2.0/token" in err  # logging was on (a line per request from info)
    flows.assert_absent_from(err + out + "".join(banner))
