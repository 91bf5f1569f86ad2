"""Item 2 of issue 9, the transport keywords: what MSAL 1.39 hands on from an
``acquire_token_*`` call to its ``http_client`` (``timeout=``, ``params=``,
``verify=``...), tokensmith hands on too, on the same requests; what MSAL refuses
(``headers=``), tokensmith refuses, naming it. Without an ``http_client``,
``timeout=`` reaches tokensmith's httpx transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.surface_oracle import AUTHORITY, USERNAME, FakeEntraHttp, Response

import tokensmith
import tokensmith.aio
from tokensmith.authority import memo
from tokensmith.transport import AsyncHttpxTransport, HttpxTransport

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*acquire_token_by_auth_code_flow"),
    pytest.mark.filterwarnings("ignore:Use obtain_token_by_auth_code_flow"),
    pytest.mark.filterwarnings("ignore:This API has been deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The username/password flow is deprecated"),
]

SCOPES = ["api://resource/.default"]
USER_SCOPES = ["User.Read"]
KEYWORDS: dict[str, Any] = {
    "timeout": 7,
    "params": {"slice": "testslice"},
    "verify": False,
    "proxies": {"https": "http://proxy.invalid:3128"},
}


class Recording(FakeEntraHttp):
    """The fake Entra, remembering the keywords beyond MSAL's own of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Response:
        self.calls.append(("GET", url, dict(params or {}), kwargs))
        return super().get(url, params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> Response:
        self.calls.append(("POST", url.split("?")[0], dict(params or {}), kwargs))
        return super().post(url, params=params, data=data, headers=headers)

    def with_keywords(self) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        """The POSTs given params or keywords, and every GET given keywords (their
        own params are the user realm's and discovery's)."""
        return [c for c in self.calls if c[3] or (c[2] and c[0] == "POST")]


def _silent(app: Any, **kw: Any) -> Any:
    app.acquire_token_by_refresh_token("rt-imported", USER_SCOPES)
    account = app.get_accounts()[0]
    return app.acquire_token_silent_with_error(["Other.Read"], account, **kw)


def _device(app: Any, **kw: Any) -> Any:
    flow = app.initiate_device_flow(USER_SCOPES, **kw)
    flow["expires_at"] = 0  # the poll loop ends before its first wait
    return flow


CALLS: dict[str, tuple[bool, Callable[..., Any]]] = {
    "for_client": (False, lambda app, **kw: app.acquire_token_for_client(SCOPES, **kw)),
    "on_behalf_of": (
        False,
        lambda app, **kw: app.acquire_token_on_behalf_of("assertion", USER_SCOPES, **kw),
    ),
    "by_authorization_code": (
        False,
        lambda app, **kw: app.acquire_token_by_authorization_code("code", USER_SCOPES, **kw),
    ),
    "user_fic": (
        False,
        lambda app, **kw: app.acquire_token_by_user_federated_identity_credential(
            USER_SCOPES, "eyJ.fic.sig", username=USERNAME, **kw
        ),
    ),
    "by_refresh_token": (
        True,
        lambda app, **kw: app.acquire_token_by_refresh_token("rt-imported", USER_SCOPES, **kw),
    ),
    "username_password": (
        True,
        lambda app, **kw: app.acquire_token_by_username_password(USERNAME, "pw", USER_SCOPES, **kw),
    ),
    "silent": (True, _silent),
    "initiate_device_flow": (True, _device),
}


def _app(module: Any, public: bool, http_client: Any) -> Any:
    if public:
        return module.PublicClientApplication("cid", authority=AUTHORITY, http_client=http_client)
    return module.ConfidentialClientApplication(
        "cid", client_credential="s3cret", authority=AUTHORITY, http_client=http_client
    )


def _sent(module: Any, name: str, **keywords: Any) -> list[Any]:
    public, call = CALLS[name]
    fake = Recording()
    result = call(_app(module, public, fake), **keywords)
    assert isinstance(result, dict) and "error" not in result, result
    return fake.with_keywords()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_keywords_reach_the_http_client_as_msal_sends_them(name: str) -> None:
    theirs = _sent(msal, name, **KEYWORDS)
    ours = _sent(tokensmith, name, **KEYWORDS)
    assert ours == theirs
    assert len(ours) == 1  # the one token (or device code) POST, not discovery
    method, _, params, extra = ours[0]
    assert (method, params) == ("POST", {"slice": "testslice"})
    assert extra == {k: v for k, v in KEYWORDS.items() if k != "params"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_without_keywords_hands_on_none(name: str) -> None:
    assert _sent(tokensmith, name) == _sent(msal, name) == []


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("keyword", ["headers", "scope"])
def test_a_keyword_msal_refuses_is_refused_naming_it(name: str, keyword: str) -> None:
    public, call = CALLS[name]
    with pytest.raises(TypeError):
        call(_app(msal, public, Recording()), **{keyword: {"x": "y"}})
    fake = Recording()
    with pytest.raises(TypeError, match=repr(keyword)):
        call(_app(tokensmith, public, fake), **{keyword: {"x": "y"}})
    posts = [c for c in fake.calls if c[0] == "POST"]
    assert len(posts) == (1 if name == "silent" else 0)  # silent's setup redeemed one


def test_the_async_twin_hands_the_keywords_on_too() -> None:
    fake = Recording()
    app = tokensmith.aio.ConfidentialClientApplication(
        "cid", client_credential="s3cret", authority=AUTHORITY, http_client=fake
    )

    async def main() -> Any:
        try:
            return await app.acquire_token_for_client(SCOPES, timeout=(3, 9), params={"a": "b"})
        finally:
            await app.close()  # type: ignore[attr-defined]

    assert "access_token" in asyncio.run(main())
    assert fake.with_keywords() == [
        ("POST", fake.token_posts()[0].url.split("?")[0], {"a": "b"}, {"timeout": (3.0, 9.0)})
    ]


def test_a_bad_timeout_is_a_value_error_before_anything_is_sent() -> None:
    fake = Recording()
    app = _app(tokensmith, False, fake)
    for bad in (0, -1, "7", True, (1, 2, 3)):
        with pytest.raises(ValueError, match="timeout"):
            app.acquire_token_for_client(SCOPES, timeout=bad)
    with pytest.raises(ValueError, match="params"):
        app.acquire_token_for_client(SCOPES, params=["a"])
    assert fake.calls == []


# -- tokensmith's own transport (httpx), no http_client ---------------------------------


def _entra_over_httpx(seen: list[httpx.Request]) -> httpx.MockTransport:
    entra = FakeEntraHttp()

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        url = str(request.url.copy_with(query=None))
        if request.method == "GET":
            answer = entra.get(url, params=dict(request.url.params))
        else:
            form = dict(httpx.QueryParams(request.content.decode()))
            answer = entra.post(url, params=dict(request.url.params), data=form)
        return httpx.Response(answer.status_code, text=answer.text)

    return httpx.MockTransport(handle)


def _timeouts(seen: list[httpx.Request]) -> list[tuple[str, str, Any]]:
    return [
        (r.method, r.url.path.rsplit("/", 1)[-1], r.extensions["timeout"]["read"]) for r in seen
    ]


def test_timeout_and_params_reach_the_httpx_transport() -> None:
    memo.clear()  # discovery is remembered process-wide: this test sees it sent
    seen: list[httpx.Request] = []
    client = httpx.Client(transport=_entra_over_httpx(seen), timeout=30.0)
    app = tokensmith.ConfidentialClientApplication(
        "cid",
        client_credential="s3cret",
        authority=AUTHORITY,
        transport=HttpxTransport(client=client),
    )
    result = app.acquire_token_for_client(SCOPES, timeout=(2, 7), params={"slice": "s"})
    assert "access_token" in result
    assert _timeouts(seen) == [("GET", "openid-configuration", 30.0), ("POST", "token", 7.0)]
    assert seen[0].extensions["timeout"]["connect"] == 30.0
    assert seen[1].extensions["timeout"]["connect"] == 2.0
    assert seen[1].url.params["slice"] == "s"
    assert "slice" not in seen[0].url.params
    seen.clear()
    app.acquire_token_for_client(["api://other/.default"])  # the next call: the app's own
    assert _timeouts(seen) == [("POST", "token", 30.0)]


def test_timeout_reaches_the_async_httpx_transport() -> None:
    seen: list[httpx.Request] = []

    async def main() -> Any:
        client = httpx.AsyncClient(transport=_entra_over_httpx(seen), timeout=30.0)
        app = tokensmith.aio.PublicClientApplication(
            "cid", authority=AUTHORITY, transport=AsyncHttpxTransport(client=client)
        )
        try:
            return await app.acquire_token_by_refresh_token("rt", USER_SCOPES, timeout=4)
        finally:
            await client.aclose()

    assert "access_token" in asyncio.run(main())
    assert _timeouts(seen)[-1] == ("POST", "token", 4.0)


def test_without_an_http_client_a_keyword_httpx_cannot_honour_is_refused() -> None:
    seen: list[httpx.Request] = []
    client = httpx.Client(transport=_entra_over_httpx(seen))
    app = tokensmith.ConfidentialClientApplication(
        "cid",
        client_credential="s3cret",
        authority=AUTHORITY,
        transport=HttpxTransport(client=client),
    )
    for keyword in ("verify", "proxies", "foo"):
        with pytest.raises(TypeError, match=repr(keyword)):
            app.acquire_token_for_client(SCOPES, **{keyword: False})
    assert seen == []


def test_a_cache_hit_ignores_nothing_and_sends_nothing() -> None:
    fake = Recording()
    app = _app(tokensmith, False, fake)
    app.acquire_token_for_client(SCOPES)
    before = len(fake.calls)
    hit = app.acquire_token_for_client(SCOPES, timeout=3)
    assert hit["token_source"] == "cache"
    assert len(fake.calls) == before
    assert json.dumps(hit)


def test_the_auth_code_flow_redemption_hands_the_keywords_on_as_msal_does() -> None:
    """The stand-in's id_token has no nonce, so both libraries refuse it after the POST;
    what matters here is the POST."""
    sent = []
    for module in (msal, tokensmith):
        fake = Recording()
        app = _app(module, False, fake)
        flow = app.initiate_auth_code_flow(
            USER_SCOPES, redirect_uri="http://localhost/cb", response_mode="form_post"
        )
        with pytest.raises(RuntimeError, match=r"(?i)nonce"):
            app.acquire_token_by_auth_code_flow(
                flow, {"code": "c", "state": flow["state"]}, **KEYWORDS
            )
        sent.append(fake.with_keywords())
    assert sent[1] == sent[0]
    assert [extra for *_, extra in sent[1]] == [
        {"timeout": 7, "verify": False, "proxies": KEYWORDS["proxies"]}
    ]
