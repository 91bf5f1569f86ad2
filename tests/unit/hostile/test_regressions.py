"""One test per defect the fuzzing of issue 14 found: each names the hostile input and
fails when the check that handles it is removed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.unit.application.fake_entra import unsigned_jwt
from tests.unit.hostile.surfaces import GOOD_SCOPE, OTHER_SCOPE, World, good_claims, good_response

from tokensmith.transport.base import HttpResponse


def _answer(world: World, changes: dict[str, Any]) -> dict[str, Any]:
    body = {**good_response(50, world.clock(), OTHER_SCOPE), **changes}
    text = json.dumps(body)
    world.provider.next_token = lambda form: HttpResponse(200, text, {})
    return dict(world.app.acquire_token_by_refresh_token("rt-x", OTHER_SCOPE))


@pytest.mark.parametrize(
    "changes",
    [
        {"expires_in": 10**400},
        {"foci": ["1"]},
        {"refresh_token": 12345},
        {"refresh_token": "rt\ud800"},
        {"access_token": "at\udfff"},
        {"client_info": ["x"]},
    ],
)
def test_a_bad_token_answer_is_invalid_response_and_nothing_of_it_is_cached(
    changes: dict[str, Any],
) -> None:
    world = World()
    before = world.cache.serialize()
    result = _answer(world, changes)
    assert result["error"] == "invalid_response"
    assert world.cache.serialize() == before
    world.check_intact()


@pytest.mark.parametrize(
    "claims",
    [{"sub": {"id": 1}}, {"exp": 10**400}, {"preferred_username": ["ada"]}, {"oid": 5}],
)
def test_an_id_token_with_claims_of_the_wrong_type_is_refused(claims: dict[str, Any]) -> None:
    world = World()
    before = world.cache.serialize()
    token = unsigned_jwt({**good_claims(world.clock()), **claims})
    result = _answer(
        world, {"id_token": token, "client_info": None} if "sub" in claims else {"id_token": token}
    )
    assert result["error"] == "invalid_response"
    assert world.cache.serialize() == before


def _mutated_cache(world: World, section: str, field: str, value: Any) -> Any:
    state = json.loads(world.cache.serialize())
    for entry in state[section].values():
        if value is KeyError:
            entry.pop(field)
        else:
            entry[field] = value
    cache = type(world.cache)()
    cache.deserialize(json.dumps(state))
    return cache, json.dumps(state, indent=4)


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("AccessToken", "secret", KeyError),
        ("AccessToken", "refresh_on", "true"),
        ("AccessToken", "expires_on", str(10**20)),
        ("Account", "home_account_id", ["x"]),
        ("RefreshToken", "secret", 7),
        ("RefreshToken", "credential_type", "AccessToken"),
        ("AppMetadata", "family_id", ["1"]),
    ],
)
def test_cache_entries_that_would_break_a_lookup_are_skipped_and_kept(
    section: str, field: str, value: Any
) -> None:
    world = World()
    cache, text = _mutated_cache(world, section, field, value)
    app = world.new_app(cache)
    for account in app.get_accounts():
        app.acquire_token_silent(GOOD_SCOPE, account=account)
    result = app.acquire_token_silent(GOOD_SCOPE, account=world.account)
    if section == "AccessToken":  # skipped, then replaced by the refreshed token
        assert result is not None and result["access_token"] != world.good_token
    else:  # skipped, and given back untouched
        assert json.loads(cache.serialize())[section] == json.loads(text)[section]


@pytest.mark.parametrize("account", [True, "ada", ["a"], 5, {"home_account_id": ["x"]}])
def test_an_account_argument_of_the_wrong_type_is_a_value_error(account: Any) -> None:
    world = World()
    with pytest.raises(ValueError, match="account"):
        world.app.acquire_token_silent(GOOD_SCOPE, account=account)
    with pytest.raises(ValueError, match="account"):
        world.app.remove_account(account)


@pytest.mark.parametrize("scope", [5, "User.Read", [{"x": 1}]])
def test_a_device_flow_with_a_damaged_scope_is_a_value_error(scope: Any) -> None:
    world = World()
    flow = world.app.initiate_device_flow(OTHER_SCOPE)
    flow["_scope"] = scope
    with pytest.raises(ValueError, match="_scope"):
        world.app.acquire_token_by_device_flow(flow)
