"""Fixtures of the browser tests: Debian's headless Chromium (selenium, system
chromedriver), node-oidc-provider over https (tests/interop's set-up, with one more
client: the example web app) and the example web app on loopback.

``BROWSER`` is set for the whole test process when this file is loaded (before any
test runs, so before :mod:`webbrowser` first reads it) to ``launcher.sh``, which
hands the sign-in address to the test's Chromium. Every test here is marked
``browser``.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from tests.browser._chrome import ensure_chromium, fresh_session, spki_pin, start_chromium
from tests.interop._provider import OidcProvider, start_provider

_HERE = Path(__file__).resolve().parent
LAUNCHER = _HERE / "launcher.sh"
INBOX_VARIABLE = "TOKENSMITH_TEST_BROWSER_INBOX"
WEBAPP_CLIENT_ID = "browser-webapp"


def pytest_configure(config: pytest.Config) -> None:
    if not os.access(LAUNCHER, os.X_OK):
        LAUNCHER.chmod(0o755)
    os.environ["BROWSER"] = str(LAUNCHER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no request lines on stderr
        pass


@dataclass
class WebAppSite:
    """The example web app's server: bound before the provider starts (its redirect
    URI is registered there), serving once ``serve`` got the app."""

    server: WSGIServer
    client_secret: str = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.server.server_address[1]}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/callback"

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": WEBAPP_CLIENT_ID,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [self.redirect_uri],
        }


@pytest.fixture(scope="session")
def webapp_site() -> Iterator[WebAppSite]:
    def not_yet(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"starting"]

    server = make_server("127.0.0.1", 0, not_yet, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield WebAppSite(server, secrets.token_urlsafe(24))
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture(scope="session")
def oidc_provider(
    tmp_path_factory: pytest.TempPathFactory, webapp_site: WebAppSite
) -> Iterator[OidcProvider]:
    with start_provider(
        tmp_path_factory.mktemp("oidc-provider"), [webapp_site.registration()]
    ) as provider:
        yield provider


@pytest.fixture(scope="session")
def chromium_session(
    oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    ensure_chromium()
    driver = start_chromium(
        spki_pin(oidc_provider.issuer, oidc_provider.ca_path), tmp_path_factory.mktemp("chromium")
    )
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def chromium(chromium_session: Any) -> Any:
    """The headless browser with no cookies and an empty network log."""
    fresh_session(chromium_session)
    return chromium_session


@dataclass
class Inbox:
    """Where launcher.sh leaves the address ``webbrowser`` was asked to open."""

    path: Path

    def wait_for_address(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.path.exists():
                return self.path.read_text().strip()
            time.sleep(0.05)
        raise AssertionError("webbrowser never ran the BROWSER launcher")


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    path = tmp_path / "browser-inbox"
    monkeypatch.setenv(INBOX_VARIABLE, str(path))
    return Inbox(path)
