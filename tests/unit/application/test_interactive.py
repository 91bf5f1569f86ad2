"""acquire_token_interactive with a stand-in browser (registered with ``webbrowser``)
that plays the provider's part: it answers the real loopback listener over HTTP."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import webbrowser
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.unit.application.fake_entra import FakeEntra, client_info, unsigned_jwt

from tokensmith import BrowserInteractionTimeoutError
from tokensmith._jwt import decode_jwt_claims
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

SCOPES = ["User.Read"]
CODE = "interactive-code-7f3a"
_names = itertools.count()


def params_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class StandInBrowser(webbrowser.BaseBrowser):
    """Receives the sign-in address; ``reply`` decides what goes back to the listener."""

    def __init__(self, entra: FakeEntra, reply: Callable[[dict[str, str]], dict[str, str] | None]):
        super().__init__(f"tokensmith-stand-in-{next(_names)}")
        self.entra = entra
        self.reply = reply
        self.opened: list[str] = []
        self.works = True

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        if not self.works:
            return False
        self.answer(url)
        return True

    def answer(self, url: str) -> None:
        params = params_of(url)
        nonce = params["nonce"]

        def issue_with_nonce(form: dict[str, str]) -> HttpResponse:
            body = json.loads(self.entra.issue(form).text)
            claims = decode_jwt_claims(body["id_token"])
            claims.update(nonce=nonce, auth_time=int(self.entra.clock()))
            body["id_token"] = unsigned_jwt(claims)
            return json_response(body)

        self.entra.token_handler = issue_with_nonce
        response = self.reply(params)
        if response is None:
            return
        with httpx.Client(trust_env=False, timeout=5.0) as http:
            if params.get("response_mode") == "form_post":
                http.post(params["redirect_uri"], data=response)
            else:
                http.get(params["redirect_uri"], params=response)


def signs_in(params: dict[str, str]) -> dict[str, str]:
    return {"code": CODE, "state": params["state"], "client_info": client_info()}


@pytest.fixture
def browser(entra: FakeEntra) -> Callable[..., StandInBrowser]:
    def make(reply: Callable[[dict[str, str]], dict[str, str] | None] = signs_in) -> StandInBrowser:
        stand_in = StandInBrowser(entra, reply)
        webbrowser.register(stand_in.name, None, stand_in)
        return stand_in

    return make


def test_sign_in_through_the_browser(
    make_pca: Callable[..., Any], entra: FakeEntra, browser: Callable[..., StandInBrowser]
) -> None:
    app, stand_in = make_pca(), browser()
    launched: list[dict[str, Any]] = []
    result = app.acquire_token_interactive(
        SCOPES,
        prompt="select_account",
        login_hint="ada@contoso.example",
        domain_hint="organizations",
        max_age=3600,
        extra_scopes_to_consent=["Mail.Read"],
        timeout=10,
        on_before_launching_ui=lambda **kw: launched.append(kw),
        parent_window_handle=app.CONSOLE_WINDOW_HANDLE,
        browser_name=stand_in.name,
    )
    assert launched == [{"ui": "browser"}]
    assert result.get("token_source") == "identity_provider", result
    [url] = stand_in.opened
    params = params_of(url)
    assert params["redirect_uri"].startswith("http://localhost:")
    assert params["response_mode"] == "form_post"
    assert params["code_challenge_method"] == "S256"
    assert params["prompt"] == "select_account"
    assert params["login_hint"] == "ada@contoso.example"
    assert params["domain_hint"] == "organizations"
    assert params["max_age"] == "3600"
    assert "Mail.Read" in params["scope"].split()
    form = entra.token_requests[-1]
    assert form["code"] == CODE and len(form["code_verifier"]) >= 43
    assert form["redirect_uri"] == params["redirect_uri"]
    assert "Mail.Read" not in form["scope"].split()
    assert app.get_accounts()[0]["username"] == "ada@contoso.example"


def test_query_mode(make_pca: Callable[..., Any], browser: Callable[..., StandInBrowser]) -> None:
    app, stand_in = make_pca(), browser()
    with pytest.warns(UserWarning, match="form_post"):
        result = app.acquire_token_interactive(
            SCOPES, timeout=10, response_mode="query", browser_name=stand_in.name
        )
    assert "access_token" in result
    assert params_of(stand_in.opened[0])["response_mode"] == "query"


def test_error_redirect_is_an_error_dict(
    make_pca: Callable[..., Any], browser: Callable[..., StandInBrowser]
) -> None:
    stand_in = browser(lambda p: {"error": "access_denied", "state": p["state"]})
    result = make_pca().acquire_token_interactive(SCOPES, timeout=10, browser_name=stand_in.name)
    assert dict(result) == {"error": "access_denied"}


def test_timeout_raises_browser_interaction_timeout(
    make_pca: Callable[..., Any], browser: Callable[..., StandInBrowser]
) -> None:
    stand_in = browser(lambda p: None)  # the person never finishes
    with pytest.raises(BrowserInteractionTimeoutError):
        make_pca().acquire_token_interactive(SCOPES, timeout=0.5, browser_name=stand_in.name)


def test_no_browser_calls_auth_uri_callback(
    make_pca: Callable[..., Any], browser: Callable[..., StandInBrowser]
) -> None:
    stand_in = browser()
    stand_in.works = False
    shown: list[str] = []

    def by_hand(url: str) -> None:  # the person opens the address elsewhere
        shown.append(url)
        threading.Thread(target=stand_in.answer, args=(url,)).start()

    result = make_pca().acquire_token_interactive(
        SCOPES, timeout=10, browser_name=stand_in.name, auth_uri_callback=by_hand
    )
    assert "access_token" in result
    assert shown == stand_in.opened


def test_no_browser_prints_the_address(
    make_pca: Callable[..., Any],
    browser: Callable[..., StandInBrowser],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stand_in = browser()
    stand_in.works = False
    app = make_pca()
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            app.acquire_token_interactive(SCOPES, timeout=10, browser_name=stand_in.name)
        )
    )
    worker.start()
    url = ""
    for _ in range(100):
        printed = capsys.readouterr().err
        if "http" in printed:
            url = next(w for w in printed.split() if w.startswith("https://"))
            break
        worker.join(0.05)
    assert "No web browser could be opened" in printed
    stand_in.answer(url)
    worker.join(10)
    assert "access_token" in results[0]


def test_welcome_template_opens_the_local_page_first(
    make_pca: Callable[..., Any], entra: FakeEntra, browser: Callable[..., StandInBrowser]
) -> None:
    welcome: list[str] = []

    class Person(StandInBrowser):
        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            with httpx.Client(trust_env=False) as http:
                page = http.get(url).text
            welcome.append(page)
            self.answer(page.split("href='")[1].split("'")[0])
            return True

    person = Person(entra, signs_in)
    webbrowser.register(person.name, None, person)
    result = make_pca().acquire_token_interactive(
        SCOPES,
        timeout=10,
        browser_name=person.name,
        welcome_template="Sign in: <a href='$auth_uri'>here</a>",
        success_template="Done for $state",
    )
    assert "access_token" in result
    assert welcome and "/authorize?" in welcome[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth_scheme": object()},
        {"port": -5},
        {"response_mode": "fragment"},
        {"extra_scopes_to_consent": "Mail.Read"},
        {"timeout": "soon"},
    ],
)
def test_bad_arguments_are_value_errors(
    make_pca: Callable[..., Any], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        make_pca().acquire_token_interactive(SCOPES, **{"timeout": 1, **kwargs})


def test_no_secret_in_debug_logs(
    make_pca: Callable[..., Any],
    browser: Callable[..., StandInBrowser],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tokensmith")
    stand_in = browser()
    result = make_pca().acquire_token_interactive(SCOPES, timeout=10, browser_name=stand_in.name)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("tokensmith"))
    assert "Loopback listener: POST / -> 200" in ours
    for secret in (CODE, result["access_token"], result["refresh_token"], result["id_token"]):
        assert secret not in ours


def test_per_call_params_reach_the_code_redemption_and_other_keywords_are_refused(
    make_pca: Callable[..., Any], entra: FakeEntra, browser: Callable[..., StandInBrowser]
) -> None:
    """As MSAL hands an interactive call's extra keywords to the token request (its
    ``http_client.post``): ``params=`` joins the redemption's query string only."""
    app, stand_in = make_pca(), browser()
    result = app.acquire_token_interactive(
        SCOPES, timeout=10, browser_name=stand_in.name, params={"slice": "testslice"}
    )
    assert "access_token" in result
    assert "slice" not in params_of(stand_in.opened[0])
    [token] = [r for r in entra.transport.requests if r.url.endswith("/token")]
    assert dict(token.params or {}) == {"slice": "testslice"}
    with pytest.raises(TypeError, match="'verify'"):  # no http_client: httpx cannot
        app.acquire_token_interactive(SCOPES, timeout=10, browser_name=stand_in.name, verify=False)
    assert len(stand_in.opened) == 1
