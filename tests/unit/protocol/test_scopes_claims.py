from __future__ import annotations

import json

import pytest

from tokensmith.protocol.claims import merge_claims
from tokensmith.protocol.scopes import (
    RESERVED_SCOPES,
    decorate_scopes,
    scope_string,
    validate_exclude_scopes,
)


def test_reserved_scopes() -> None:
    assert frozenset({"openid", "profile", "offline_access"}) == RESERVED_SCOPES


def test_decoration_adds_reserved_and_sorts_like_msal() -> None:
    assert decorate_scopes(["User.Read", "Mail.Read"]) == [
        "Mail.Read",
        "User.Read",
        "offline_access",
        "openid",
        "profile",
    ]
    assert decorate_scopes(("b",), exclude_scopes=frozenset({"offline_access"})) == [
        "b",
        "openid",
        "profile",
    ]
    assert decorate_scopes(set()) == ["offline_access", "openid", "profile"]
    assert decorate_scopes(["x", "x"]) == ["offline_access", "openid", "profile", "x"]


@pytest.mark.parametrize("scope", ["openid", "profile", "offline_access"])
def test_reserved_scope_from_user_is_refused(scope: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        decorate_scopes(["User.Read", scope])


@pytest.mark.parametrize("bad", ["User.Read", None, {"a": 1}, [1, 2]])
def test_scopes_must_be_a_collection_of_strings(bad: object) -> None:
    with pytest.raises(ValueError):
        decorate_scopes(bad)  # type: ignore[arg-type]


def test_exclude_scopes() -> None:
    assert validate_exclude_scopes(None) == frozenset()
    assert validate_exclude_scopes([]) == frozenset()
    assert validate_exclude_scopes(["offline_access"]) == {"offline_access"}
    with pytest.raises(ValueError, match="list"):
        validate_exclude_scopes("offline_access")
    with pytest.raises(ValueError, match="list"):
        validate_exclude_scopes(("offline_access",))
    with pytest.raises(ValueError, match="openid"):
        validate_exclude_scopes(["openid"])


def test_scope_string() -> None:
    assert scope_string(["b", "a", "b"]) == "a b"
    assert scope_string([]) == ""


def test_merge_claims_without_capabilities_passes_challenge() -> None:
    assert merge_claims(None, None) is None
    assert merge_claims('{"id_token": {}}', []) == '{"id_token": {}}'
    assert merge_claims("", None) is None


def test_merge_claims_capabilities_only() -> None:
    assert merge_claims(None, ["CP1"]) == '{"access_token": {"xms_cc": {"values": ["CP1"]}}}'


def test_merge_claims_into_challenge() -> None:
    challenge = '{"access_token": {"acrs": {"essential": true, "value": "c25"}}, "id_token": {}}'
    merged = json.loads(merge_claims(challenge, ("cp1",)) or "")
    assert merged == {
        "access_token": {
            "acrs": {"essential": True, "value": "c25"},
            "xms_cc": {"values": ["cp1"]},
        },
        "id_token": {},
    }


@pytest.mark.parametrize("bad", ["{not json", "[1]", '{"access_token": 5}'])
def test_merge_claims_invalid_challenge(bad: str) -> None:
    with pytest.raises(ValueError, match="claims_challenge"):
        merge_claims(bad, ["CP1"])
