"""Item 3 of issue 9: ``acquire_token_by_user_federated_identity_credential`` sends
what MSAL 1.39 sends, returns and caches what it does, and refuses what it refuses."""

from __future__ import annotations

import json
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.surface_oracle import (
    AUTHORITY,
    TENANT,
    UID,
    USERNAME,
    FakeEntraHttp,
    cache_sections,
)

import tokensmith
import tokensmith.aio
from tokensmith.transport.base import HttpResponse

CLIENT = "surface-agent"
SCOPES = ["api://downstream/.default"]
FIC = "eyJ.instance-token.sig"


def _app(module: Any, server: FakeEntraHttp, **kwargs: Any) -> Any:
    return module.ConfidentialClientApplication(
        CLIENT,
        client_credential="agent-secret",
        authority=AUTHORITY,
        http_client=server,
        token_cache=module.SerializableTokenCache(),
        **kwargs,
    )


def _run(module: Any, **call: Any) -> tuple[Any, Any, FakeEntraHttp]:
    server = FakeEntraHttp()
    app = _app(module, server)
    result = app.acquire_token_by_user_federated_identity_credential(SCOPES, FIC, **call)
    return app, result, server


@pytest.mark.parametrize(
    ("call", "anchor"),
    [
        ({"username": USERNAME}, f"upn:{USERNAME}"),
        ({"user_object_id": UID}, f"Oid:{UID}@{TENANT}"),
    ],
)
def test_same_request_result_and_cache_as_msal(call: dict[str, Any], anchor: str) -> None:
    their_app, theirs, their_server = _run(msal, **call)
    our_app, ours, our_server = _run(tokensmith, **call)

    (their_post,) = their_server.token_posts()
    (our_post,) = our_server.token_posts()
    assert our_post.data == their_post.data
    assert our_post.data["grant_type"] == "user_fic"
    assert our_post.data["user_federated_identity_credential"] == FIC
    assert our_post.headers["X-AnchorMailbox"] == their_post.headers["X-AnchorMailbox"] == anchor
    for post in (our_post, their_post):  # MSAL's telemetry id of the API: 950
        assert post.headers["x-client-current-telemetry"].startswith("4|950,")
    assert tokensmith.ConfidentialClientApplication.ACQUIRE_TOKEN_BY_USER_FIC_ID == "950"
    assert msal.ClientApplication.ACQUIRE_TOKEN_BY_USER_FIC_ID == "950"

    assert dict(ours) == theirs
    ours_cached = cache_sections(our_app.token_cache.serialize())
    assert ours_cached == cache_sections(their_app.token_cache.serialize())
    (account,) = json.loads(our_app.token_cache.serialize())["Account"].values()
    assert account["account_source"] == "user_fic"

    # the user's token is then served silently, by both
    for app in (their_app, our_app):
        (user,) = app.get_accounts()
        hit = app.acquire_token_silent(SCOPES, user)
        assert hit["access_token"] == "at-1" and hit["token_source"] == "cache"


def test_an_error_answer_is_returned_as_msal_returns_it() -> None:
    error = {"error": "invalid_grant", "error_description": "AADSTS700211: no FIC"}

    def refuse(form: dict[str, str]) -> HttpResponse:
        return HttpResponse(400, json.dumps(error), {"content-type": "application/json"})

    results = []
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        server.entra.token_handler = refuse
        app = _app(module, server)
        result = app.acquire_token_by_user_federated_identity_credential(
            SCOPES, FIC, username=USERNAME
        )
        results.append(dict(result))
        assert app.get_accounts() == []
    assert results[1] == results[0]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((SCOPES, ""), {"username": USERNAME}),
        ((SCOPES, None), {"username": USERNAME}),
        ((SCOPES, FIC), {}),
        ((SCOPES, FIC), {"username": USERNAME, "user_object_id": UID}),
        (("not-a-list", FIC), {"username": USERNAME}),
        ((["openid"], FIC), {"username": USERNAME}),
    ],
)
def test_bad_arguments_raise_what_msal_raises(args: tuple[Any, ...], kwargs: Any) -> None:
    raised = []
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        app = _app(module, server)
        with pytest.raises(Exception) as caught:
            app.acquire_token_by_user_federated_identity_credential(*args, **kwargs)
        raised.append(type(caught.value))
        assert server.token_posts() == []
    assert issubclass(raised[1], raised[0]) and raised[0] is ValueError


def test_forwarded_client_claims_are_sent_and_cached_as_msal_does() -> None:
    forwarded = '{"access_token": {"xms_agent": {"essential": true}}}'
    challenge = '{"access_token": {"nbf": {"essential": true, "value": "1"}}}'
    call = {"username": USERNAME, "forwarded_client_claims": forwarded}
    runs = []
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        app = _app(module, server, client_capabilities=["CP1"])
        result = app.acquire_token_by_user_federated_identity_credential(
            SCOPES, FIC, claims_challenge=challenge, **call
        )
        (post,) = server.token_posts()
        runs.append((dict(result), post.data, cache_sections(app.token_cache.serialize())))
    (their_result, their_form, their_cache), (our_result, our_form, our_cache) = runs
    assert our_form == their_form
    assert "client_claims" not in our_form  # the pseudo-field never goes on the wire
    assert json.loads(our_form["claims"])["access_token"]["xms_agent"] == {"essential": True}
    assert our_result == their_result
    assert our_cache == their_cache
    (at,) = json.loads(json.dumps(our_cache))["AccessToken"].values()
    assert at["ext_cache_key"]  # keyed by the forwarded claims, as MSAL keys it


@pytest.mark.parametrize("forwarded", [{"a": 1}, "not json", "[1]"])
def test_bad_forwarded_client_claims_raise_what_msal_raises(forwarded: Any) -> None:
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        with pytest.raises(ValueError):
            _app(module, server).acquire_token_by_user_federated_identity_credential(
                SCOPES, FIC, username=USERNAME, forwarded_client_claims=forwarded
            )
        assert server.token_posts() == []


def test_an_unknown_keyword_is_refused_naming_it() -> None:
    """Without an http_client tokensmith refuses it; an http_client is handed it, as
    MSAL hands it to its http_client (a ``requests.Session`` refuses it then)."""
    app = tokensmith.ConfidentialClientApplication(
        CLIENT, client_credential="agent-secret", authority=AUTHORITY
    )
    with pytest.raises(TypeError, match="fmi_path"):
        app.acquire_token_by_user_federated_identity_credential(
            SCOPES, FIC, username=USERNAME, fmi_path="a/b"
        )
    seen = []
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        posts: list[dict[str, Any]] = []
        real_post = server.post
        server.post = lambda url, *a, _p=posts, _r=real_post, **kw: (  # type: ignore[method-assign]
            _p.append({k: v for k, v in kw.items() if k not in ("data", "headers", "params")})
            or _r(url, *a, **kw)
        )
        _app(module, server).acquire_token_by_user_federated_identity_credential(
            SCOPES, FIC, username=USERNAME, fmi_path="a/b"
        )
        seen.append(posts)
    assert seen[1] == seen[0] == [{"fmi_path": "a/b"}]


def test_the_async_twin_sends_the_same_grant() -> None:
    import asyncio

    server = FakeEntraHttp()
    app = _app(tokensmith.aio, server)

    async def call() -> Any:
        try:
            return await app.acquire_token_by_user_federated_identity_credential(
                SCOPES, FIC, user_object_id=UID
            )
        finally:
            await app.close()

    result = asyncio.run(call())
    assert result["access_token"] == "at-1"
    (post,) = server.token_posts()
    assert post.data["user_id"] == UID and post.data["grant_type"] == "user_fic"
