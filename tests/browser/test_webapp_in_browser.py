"""The example web app (examples/webapp) signs a person in with the auth code flow in
headless Chromium against node-oidc-provider, then gets tokens silently; forged and
replayed authorization responses are rejected. The web app runs on the sync
application and on the async one (``tokensmith.aio`` behind a blocking proxy:
tests/_aio.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from examples.webapp.app import WebApp
from selenium.webdriver.common.by import By
from tests._aio import blocking_app
from tests.browser._chrome import auto_post_page, person_signs_in, posted_forms, wait_for_text
from tests.browser.conftest import WEBAPP_CLIENT_ID, WebAppSite
from tests.interop._provider import SCOPE_READ, OidcProvider

import tokensmith as msal
import tokensmith.aio

pytestmark = pytest.mark.browser


@pytest.fixture(params=["tokensmith", "tokensmith.aio"])
def cca(
    request: pytest.FixtureRequest, oidc_provider: OidcProvider, webapp_site: WebAppSite
) -> Iterator[Any]:
    options: dict[str, Any] = {
        "client_credential": webapp_site.client_secret,
        "oidc_authority": oidc_provider.issuer,
        "verify": str(oidc_provider.ca_path),
    }
    if request.param == "tokensmith.aio":
        app: Any = blocking_app(
            tokensmith.aio.ConfidentialClientApplication, WEBAPP_CLIENT_ID, **options
        )
    else:
        app = msal.ConfidentialClientApplication(WEBAPP_CLIENT_ID, **options)
    with app:
        yield app


@pytest.fixture
def webapp(cca: Any, webapp_site: WebAppSite) -> WebApp:
    web = WebApp(cca, webapp_site.redirect_uri, [SCOPE_READ])
    webapp_site.server.set_app(web)
    return web


def sign_in(chromium: Any, site: WebAppSite, provider: OidcProvider) -> None:
    chromium.get(site.url + "/")
    wait_for_text(chromium, "Not signed in")
    chromium.find_element(By.LINK_TEXT, "Sign in").click()
    person_signs_in(chromium, provider.issuer, provider.username, provider.password)
    wait_for_text(chromium, "Signed in as")


def test_sign_in_then_tokens_from_the_cache(
    chromium: Any, webapp: WebApp, webapp_site: WebAppSite, oidc_provider: OidcProvider
) -> None:
    sign_in(chromium, webapp_site, oidc_provider)
    assert chromium.find_element(By.ID, "user").text == oidc_provider.username
    callbacks = posted_forms(chromium, webapp_site.redirect_uri)
    assert len(callbacks) == 1 and callbacks[0]["code"]  # form_post, not the query
    chromium.find_element(By.LINK_TEXT, "Get a token").click()
    wait_for_text(chromium, "Access token from")
    assert chromium.find_element(By.ID, "source").text == "cache"
    assert int(chromium.find_element(By.ID, "expires").text) > 0


def test_forged_response_with_a_wrong_state_is_rejected(
    chromium: Any, webapp: WebApp, webapp_site: WebAppSite, oidc_provider: OidcProvider
) -> None:
    chromium.get(webapp_site.url + "/login")  # a flow is now pending
    chromium.get(auto_post_page(webapp_site.redirect_uri, {"code": "stolen", "state": "forged"}))
    wait_for_text(chromium, "Sign-in response rejected")
    chromium.get(webapp_site.url + "/")
    wait_for_text(chromium, "Not signed in")
    sign_in(chromium, webapp_site, oidc_provider)  # a real sign-in still works


def test_replayed_code_is_rejected(
    chromium: Any,
    webapp: WebApp,
    webapp_site: WebAppSite,
    oidc_provider: OidcProvider,
    cca: Any,
) -> None:
    sign_in(chromium, webapp_site, oidc_provider)
    [response] = posted_forms(chromium, webapp_site.redirect_uri)
    # the browser posts the captured response again: the flow was used up
    chromium.get(auto_post_page(webapp_site.redirect_uri, response))
    wait_for_text(chromium, "Sign-in response rejected")
    assert posted_forms(chromium, webapp_site.redirect_uri) == [response]

    # the same code redeemed twice: the application refuses a used flow before sending
    # the code again, and another application holding a copy of the flow gets the
    # provider's refusal
    flow = cca.initiate_auth_code_flow(
        [SCOPE_READ], redirect_uri=webapp_site.redirect_uri, response_mode="form_post"
    )
    chromium.get(flow["auth_uri"])
    person_signs_in(chromium, oidc_provider.issuer, oidc_provider.username, oidc_provider.password)
    wait_for_text(chromium, "rejected")  # the web app has no flow for it in its session
    [captured] = posted_forms(chromium, webapp_site.redirect_uri)
    first = cca.acquire_token_by_auth_code_flow(flow, captured)
    assert first.get("token_source") == "identity_provider", first
    with pytest.raises(ValueError, match="already used"):
        cca.acquire_token_by_auth_code_flow(flow, captured)
    with msal.ConfidentialClientApplication(
        WEBAPP_CLIENT_ID,
        client_credential=webapp_site.client_secret,
        oidc_authority=oidc_provider.issuer,
        verify=str(oidc_provider.ca_path),
    ) as other:
        again = other.acquire_token_by_auth_code_flow(dict(flow), captured)
    assert again["error"] == "invalid_grant"
    assert "access_token" not in again
