"""``acquire_token_interactive`` with a real browser: Python's ``webbrowser`` runs
``BROWSER`` (launcher.sh), which hands the address to headless Chromium; the person
signs in on node-oidc-provider's pages; the provider ``form_post``s the code to the
loopback listener; the token arrives. Attacks on the listener are tried on the way.
Each test runs with the sync application and with the async one (``tokensmith.aio``,
on its own event loop behind a blocking proxy: tests/_aio.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests._aio import blocking_app
from tests.browser._chrome import auto_post_page, person_signs_in, posted_forms, wait_for_text
from tests.browser.conftest import Inbox
from tests.interop._provider import SCOPE_READ, OidcProvider

import tokensmith as msal
import tokensmith.aio

pytestmark = pytest.mark.browser


class Background:
    """Runs ``acquire_token_interactive`` on a thread, as the app's UI would wait."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(app, kwargs))
        self._thread.start()

    def _run(self, app: Any, kwargs: dict[str, Any]) -> None:
        try:
            self.result = app.acquire_token_interactive([SCOPE_READ], **kwargs)
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def join(self) -> dict[str, Any]:
        self._thread.join(90)
        assert not self._thread.is_alive(), "acquire_token_interactive did not return"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@pytest.fixture(params=["tokensmith", "tokensmith.aio"])
def app(request: pytest.FixtureRequest, oidc_provider: OidcProvider) -> Iterator[Any]:
    options: dict[str, Any] = {
        "oidc_authority": oidc_provider.issuer,
        "verify": str(oidc_provider.ca_path),
    }
    client_id = oidc_provider.clients.public_id
    if request.param == "tokensmith.aio":
        application: Any = blocking_app(
            tokensmith.aio.PublicClientApplication, client_id, **options
        )
    else:
        application = msal.PublicClientApplication(client_id, **options)
    with application:
        yield application


def test_sign_in_in_the_system_browser(
    app: Any,
    oidc_provider: OidcProvider,
    chromium: Any,
    inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    launched: list[str] = []
    waiting = Background(
        app,
        timeout=60,
        on_before_launching_ui=lambda ui: launched.append(ui),
        verify_id_token_signature=True,
    )
    address = inbox.wait_for_address()  # webbrowser ran BROWSER with the address
    params = {k: v[0] for k, v in parse_qs(urlsplit(address).query).items()}
    redirect_uri = params["redirect_uri"]
    assert redirect_uri.startswith("http://localhost:")
    assert params["response_mode"] == "form_post"
    assert params["code_challenge_method"] == "S256" and params["nonce"]

    # (c) an attacker's page posts a forged response first: refused, still waiting
    chromium.get(auto_post_page(redirect_uri, {"code": "forged", "state": "attacker"}))
    assert "State mismatch" in wait_for_text(chromium, "State mismatch")

    chromium.get(address)
    person_signs_in(chromium, oidc_provider.issuer, oidc_provider.username, oidc_provider.password)
    wait_for_text(chromium, "Authentication complete")
    result = waiting.join()

    assert launched == ["browser"]
    assert result.get("token_source") == "identity_provider", result
    assert result["id_token_claims"]["sub"] == oidc_provider.username
    assert app.get_accounts()[0]["username"] == oidc_provider.username
    silent = app.acquire_token_silent([SCOPE_READ], app.get_accounts()[0])
    assert silent["token_source"] == "cache"

    # (d) the listener took one response and closed: a replay of the real one is refused
    [real_response] = [f for f in posted_forms(chromium, redirect_uri) if f.get("code") != "forged"]
    assert real_response["state"] == params["state"]
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as http:
        http.post(redirect_uri, data=real_response)
    chromium.get(auto_post_page(redirect_uri, real_response))
    assert "Authentication complete" not in wait_for_text(chromium, "localhost")

    # nothing secret was logged on the way
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("tokensmith"))
    for secret in (real_response["code"], result["access_token"], result["refresh_token"]):
        assert secret not in logged


def test_error_from_the_provider_comes_back_as_a_dict(
    app: Any, oidc_provider: OidcProvider, chromium: Any, inbox: Inbox
) -> None:
    waiting = Background(app, timeout=60, prompt="none")  # no session: login_required
    chromium.get(inbox.wait_for_address())
    wait_for_text(chromium, "Authentication failed")
    result = waiting.join()
    assert result["error"] == "login_required"
    assert "access_token" not in result


def test_query_mode_and_custom_pages(
    app: Any, oidc_provider: OidcProvider, chromium: Any, inbox: Inbox
) -> None:
    with pytest.warns(UserWarning, match="form_post"):
        waiting = Background(
            app,
            timeout=60,
            response_mode="query",
            success_template="<h1>Welcome back</h1><p>state $state</p>",
        )
        chromium.get(inbox.wait_for_address())
        person_signs_in(
            chromium, oidc_provider.issuer, oidc_provider.username, oidc_provider.password
        )
        wait_for_text(chromium, "Welcome back")
        result = waiting.join()
    assert result.get("token_source") == "identity_provider", result


def test_timeout_when_the_person_never_signs_in(app: Any, inbox: Inbox) -> None:
    waiting = Background(app, timeout=1)
    inbox.wait_for_address()
    with pytest.raises(msal.BrowserInteractionTimeoutError):
        waiting.join()
