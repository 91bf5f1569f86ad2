"""A refresh that finishes after its account was removed writes nothing back (issue 14,
item 3), shown by stepping the silent flow by hand: it is stopped at its token request,
the account is removed, then the response is sent in."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.hostile.surfaces import GOOD_SCOPE, World

from tokensmith.engine import silent
from tokensmith.protocol.effects import Flow, Shared
from tokensmith.protocol.http import HttpRequest


def _to_token_request(flow: Flow[Any], world: World) -> tuple[Flow[Any], HttpRequest]:
    """Step ``flow`` (and the shared flow it hands over) to its token request."""
    effect = next(flow)
    while True:
        if isinstance(effect, Shared):
            flow = effect.flow()
            effect = next(flow)
        elif isinstance(effect, HttpRequest) and effect.url.endswith("/token"):
            return flow, effect
        else:
            effect = flow.send(world.provider(effect))  # discovery


def _finish(flow: Flow[Any], reply: Any) -> Any:
    with pytest.raises(StopIteration) as stopped:
        flow.send(reply)
    return stopped.value.value


def test_tokens_of_a_refresh_finishing_after_sign_out_are_not_cached() -> None:
    world = World()
    flow = silent.acquire_token_silent(
        world.app._ctx, GOOD_SCOPE, world.account, None, True, None, {}
    )
    inner, request = _to_token_request(flow, world)
    world.app.remove_account(world.account)
    assert world.app.get_accounts() == []
    result = _finish(inner, world.provider(request))
    assert result["access_token"]  # the caller still gets its answer
    assert world.app.get_accounts() == []
    assert world.app.acquire_token_silent(GOOD_SCOPE, account=world.account) is None
    state = world.app.token_cache._cache
    for section in ("AccessToken", "RefreshToken", "IdToken", "Account"):
        assert not state.get(section), section


def test_a_refresh_that_started_after_the_sign_out_still_caches() -> None:
    world = World()
    world.app.remove_account(world.account)
    world.provider.next_token = None
    imported = world.app.acquire_token_by_refresh_token("rt-again", GOOD_SCOPE)
    [account] = world.app.get_accounts()
    flow = silent.acquire_token_silent(world.app._ctx, GOOD_SCOPE, account, None, True, None, {})
    inner, request = _to_token_request(flow, world)
    result = _finish(inner, world.provider(request))
    assert result["access_token"] != imported["access_token"]
    served = world.app.acquire_token_silent(GOOD_SCOPE, account=account)
    assert served["access_token"] == result["access_token"]
