"""The hostile-input surfaces: one function per surface, each takes one generated input,
runs it through the public API against an in-process provider and checks the promise
of issue 14: no traceback escapes (only the documented ``ValueError`` / ``TypeError``
for bad arguments), and the cache still serializes, reloads and serves the token it
held before the bad input.

Used by the seeded slice (``test_fuzz.py``, inside ``make test``) and by ``make fuzz``
(``run_fuzz.py``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from tests.unit.application.fake_entra import (
    HOST,
    TENANT,
    client_info,
    discovery_document,
    unsigned_jwt,
)

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.authority import memo
from tokensmith.errors import MsalServiceError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

AUTHORITY = f"https://{HOST}/{TENANT}"
UID = "4b1e2d3c-8a7f-49b0-9c1d-2e3f4a5b6c7d"
GOOD_SCOPE = ["User.Read"]
OTHER_SCOPE = ["Mail.Read"]
START = 1_700_000_000.0
ALLOWED = (ValueError, TypeError)
"""What a call may raise for a bad *argument* (ConfigurationError is a ValueError)."""


def good_claims(now: float, client_id: str = "pca") -> dict[str, Any]:
    return {
        "aud": client_id,
        "iss": f"https://{HOST}/{TENANT}/v2.0",
        "oid": UID,
        "sub": "pairwise-sub",
        "tid": TENANT,
        "preferred_username": "ada@contoso.example",
        "iat": int(now),
        "exp": int(now) + 3600,
    }


def good_response(n: int, now: float, scope: list[str]) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": f"at-{n}",
        "refresh_token": f"rt-{n}",
        "scope": " ".join(scope),
        "client_info": client_info(UID, TENANT),
        "id_token": unsigned_jwt(good_claims(now)),
    }


class Provider:
    """Answers discovery and device code; token answers come from ``next_token``
    (a callable returning an HttpResponse) or are good ones."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.counter = 0
        self.next_token: Callable[[dict[str, str]], HttpResponse] | None = None
        self.discovery: Callable[[], HttpResponse] | None = None
        self.device: Callable[[], HttpResponse] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.url.split("?")[0]
        if path.endswith("/.well-known/openid-configuration"):
            if self.discovery is not None:
                return self.discovery()
            return json_response(discovery_document(TENANT))
        if path.endswith("/devicecode"):
            if self.device is not None:
                return self.device()
            return json_response(
                {"device_code": "DC", "user_code": "UC", "verification_uri": "https://x/d"}
            )
        if path.endswith("/token"):
            form = dict(request.data or {})
            if self.next_token is not None:
                handler, self.next_token = self.next_token, None
                return handler(form)
            self.counter += 1
            scope = [s for s in form.get("scope", "").split() if "/" not in s and s not in _OIDC]
            return json_response(good_response(self.counter, self.clock(), scope or GOOD_SCOPE))
        return HttpResponse(404, "not found", {})


_OIDC = {"openid", "profile", "offline_access"}


class World:
    """A public client with one signed-in account and a good token for User.Read."""

    def __init__(self) -> None:
        self.clock = FakeClock(START)
        self.provider = Provider(self.clock)
        self.cache = tokensmith.SerializableTokenCache()
        self.app = self.new_app(self.cache)
        first = self.app.acquire_token_by_refresh_token("rt-0", GOOD_SCOPE)
        assert first.get("access_token"), first
        self.good_token: str = first["access_token"]
        self.account = self.app.get_accounts()[0]

    def new_app(self, cache: Any) -> Any:
        return tokensmith.PublicClientApplication(
            "pca",
            authority=AUTHORITY,
            token_cache=cache,
            transport=MockTransport(self.provider),
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def check_intact(self) -> None:
        """The cache serializes, reloads, lists the account and serves the good token."""
        state = self.cache.serialize()
        json.loads(state)
        reloaded = tokensmith.SerializableTokenCache()
        reloaded.deserialize(state)
        assert reloaded.serialize() == state
        app = self.new_app(reloaded)
        accounts = app.get_accounts()
        assert all(isinstance(a.get("home_account_id"), str) for a in accounts)
        mine = [a for a in accounts if a["home_account_id"] == self.account["home_account_id"]]
        assert mine, "the signed-in account was lost"
        self.provider.next_token = None
        served = app.acquire_token_silent(GOOD_SCOPE, account=mine[0])
        assert served and isinstance(served.get("access_token"), str), served


def token_response(body: Any, status: int = 200, *, silent: bool = False) -> None:
    """A hostile token endpoint answer, to an import of a refresh token or (``silent``)
    to the refresh of the signed-in account's tokens."""
    world = World()
    text = body if isinstance(body, str) else _dumps(body)
    world.provider.next_token = lambda form: HttpResponse(status, text, {})
    try:
        if silent:
            result = world.app.acquire_token_silent_with_error(
                OTHER_SCOPE, account=world.account, force_refresh=True
            )
        else:
            result = world.app.acquire_token_by_refresh_token("rt-x", OTHER_SCOPE)
    except MsalServiceError:
        assert status >= 500
        result = None
    _check_result(result)
    world.check_intact()
    # the tokens cached from it (if any) must be usable in turn
    again = world.app.acquire_token_silent(OTHER_SCOPE, account=world.account)
    _check_result(again)


def _check_result(result: Any) -> None:
    if result is None:
        return
    assert isinstance(result, dict)
    if "error" in result:
        assert isinstance(result["error"], str)
    else:
        token = result.get("access_token")
        assert isinstance(token, str)
        token.encode("utf-8")


def id_token_claims(claims: Any) -> None:
    """A token response whose id_token carries ``claims``."""
    world = World()
    body = good_response(99, world.clock(), OTHER_SCOPE)
    body["id_token"] = unsigned_jwt(claims) if isinstance(claims, dict) else claims
    world.provider.next_token = lambda form: HttpResponse(200, _dumps(body), {})
    _check_result(world.app.acquire_token_by_refresh_token("rt-x", OTHER_SCOPE))
    accounts = world.app.get_accounts()
    assert all(isinstance(a.get("username"), str) for a in accounts)
    world.check_intact()


def discovery(body: Any, status: int = 200) -> None:
    """A hostile openid-configuration document for a confidential client."""
    memo.clear()
    clock = FakeClock(START)
    provider = Provider(clock)
    text = body if isinstance(body, str) else _dumps(body)
    provider.discovery = lambda: HttpResponse(status, text, {})
    try:
        app = tokensmith.ConfidentialClientApplication(
            "cca", "secret", authority=AUTHORITY, transport=MockTransport(provider), clock=clock
        )
        _check_result(app.acquire_token_for_client(["api://x/.default"]))
    except (ValueError, MsalServiceError):
        pass
    finally:
        memo.clear()


def device_code(initiate: Any, polls: list[tuple[int, Any]]) -> None:
    """Hostile device authorization answers, then hostile poll answers."""
    world = World()
    text = initiate if isinstance(initiate, str) else _dumps(initiate)
    world.provider.device = lambda: HttpResponse(200, text, {})
    flow = world.app.initiate_device_flow(OTHER_SCOPE)
    assert isinstance(flow, dict)
    if "error" in flow:
        assert isinstance(flow["error"], str)
        world.check_intact()
        return
    answers = [(status, p if isinstance(p, str) else _dumps(p)) for status, p in polls]

    def answer(form: dict[str, str]) -> HttpResponse:
        if not answers:
            return json_response({"error": "expired_token"}, 400)
        world.provider.next_token = answer
        status, text = answers.pop(0)
        return HttpResponse(status, text, {})

    world.provider.next_token = answer
    _check_result(world.app.acquire_token_by_device_flow(flow))
    world.provider.next_token = None
    world.check_intact()


def cache_json(
    mutate: Callable[[dict[str, Any]], None],
    make_cache: Callable[[], Any] = tokensmith.SerializableTokenCache,
) -> None:
    """A cache document (from a real session) mutated by ``mutate``, then loaded into
    ``make_cache()`` and used."""
    world = World()
    state = json.loads(world.cache.serialize())
    mutate(state)
    text = _dumps(state)
    cache = make_cache()
    try:
        cache.deserialize(text)
    except ValueError:
        return
    app = world.new_app(cache)
    accounts = app.get_accounts()
    for account in accounts:
        _check_result(app.acquire_token_silent(GOOD_SCOPE, account=account))
        _check_result(app.acquire_token_silent(OTHER_SCOPE, account=account, force_refresh=True))
    cache.serialize()
    for account in app.get_accounts():
        app.remove_account(account)
    cache.serialize()


def authority(value: Any) -> None:
    """An authority argument."""
    try:
        app = tokensmith.PublicClientApplication(
            "pca", authority=value, transport=MockTransport(Provider(FakeClock(START)))
        )
    except ALLOWED:
        return
    with contextlib.suppress(ALLOWED):
        _check_result(app.acquire_token_by_refresh_token("rt", GOOD_SCOPE))


def scopes(value: Any) -> None:
    """A scopes argument to the silent, refresh-token and client-credentials calls."""
    world = World()
    for call in (
        lambda: world.app.acquire_token_silent(value, account=world.account),
        lambda: world.app.acquire_token_by_refresh_token("rt", value),
    ):
        with contextlib.suppress(ALLOWED):
            _check_result(call())
    with contextlib.suppress(ALLOWED):
        assert isinstance(world.app.initiate_device_flow(value), dict)
    world.check_intact()


def account_argument(value: Any) -> None:
    """An account argument to the silent calls and to remove_account."""
    world = World()
    for call in (
        lambda: world.app.acquire_token_silent(GOOD_SCOPE, account=value),
        lambda: world.app.acquire_token_silent_with_error(GOOD_SCOPE, account=value),
        lambda: world.app.remove_account(value),
    ):
        with contextlib.suppress(ALLOWED):
            _check_result(call())
    world.check_intact()


def _dumps(value: Any) -> str:
    """JSON as a server might send it: Python's extensions (NaN, Infinity) included,
    huge integers written out, lone surrogates escaped."""
    return json.dumps(value, allow_nan=True)
