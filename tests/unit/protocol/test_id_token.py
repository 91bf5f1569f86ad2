from __future__ import annotations

from typing import Any

import pytest

from tokensmith._jwt import b64url_encode
from tokensmith.errors import IdTokenError
from tokensmith.protocol.oidc.id_token import decode_id_token, validate_id_token_claims
from tokensmith.protocol.oidc.nonce import new_nonce, nonce_hash

NOW = 1_743_670_100.0
TID = "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
CLIENT = "3f8e2a1b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
ISSUER = f"https://login.example/{TID}/v2.0"
TEMPLATE = "https://login.example/{tenantid}/v2.0"
GOOD = {
    "aud": CLIENT,
    "iss": ISSUER,
    "iat": 1_743_670_000,
    "nbf": 1_743_670_000,
    "exp": 1_743_673_900,
    "tid": TID,
    "nonce": "n-hash",
    "auth_time": 1_743_669_000,
}


def _check(claims: dict[str, Any], **kwargs: Any) -> None:
    options: dict[str, Any] = {"issuer": ISSUER, "client_id": CLIENT, "now": NOW}
    options.update(kwargs)
    validate_id_token_claims(claims, **options)


@pytest.mark.parametrize(
    ("changes", "kwargs"),
    [
        ({}, {}),
        ({}, {"issuer": "https://login.example/{tenantid}/v2.0"}),
        ({"iss": ISSUER + "/"}, {}),
        ({}, {"issuer": None}),
        ({"aud": [CLIENT, "other"], "azp": CLIENT}, {}),
        ({"azp": CLIENT}, {}),
        ({"tid": TID.upper(), "iss": ISSUER.replace(TID, TID.upper())}, {"issuer": TEMPLATE}),
        ({"exp": NOW - 200}, {}),  # within the 300 s skew
        ({"nbf": NOW + 200}, {}),
        ({}, {"nonce": "n-hash"}),
        ({}, {"max_age": 1100}),
        ({"nbf": None}, {}),
    ],
)
def test_valid_claims(changes: dict[str, Any], kwargs: dict[str, Any]) -> None:
    claims = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    _check(claims, **kwargs)


@pytest.mark.parametrize(
    ("changes", "kwargs", "message"),
    [
        ({"iss": "https://evil.example/v2.0"}, {}, "issuer"),
        ({"tid": "other"}, {"issuer": "https://login.example/{tenantid}/v2.0"}, "issuer"),
        ({"tid": None}, {"issuer": "https://login.example/{tenantid}/v2.0"}, "tid"),
        ({"iss": None}, {}, "issuer"),
        ({"aud": "other"}, {}, "audience"),
        ({"aud": ["a", "b"]}, {}, "audience"),
        ({"aud": None}, {}, "audience"),
        ({"aud": [CLIENT, "b"], "azp": "b"}, {}, "azp"),
        ({"aud": [CLIENT, "b"]}, {}, "no azp"),  # several audiences need azp
        ({"azp": "another-app"}, {}, "azp"),  # azp checked with one audience too
        ({"aud": [CLIENT, 7], "azp": CLIENT}, {}, "audience"),
        # a tid that is not a GUID could write its own issuer into the template
        (
            {"tid": "evil.example/x", "iss": "https://login.example/evil.example/x/v2.0"},
            {"issuer": TEMPLATE},
            "GUID",
        ),
        ({"tid": TID + "\n", "iss": ISSUER}, {"issuer": TEMPLATE}, "GUID"),
        # the template is only filled when the discovered issuer has it
        ({"iss": "https://login.example/{tenantid}/v2.0"}, {}, "issuer"),
        # NaN compares False with everything: it must not pass exp/nbf/max_age
        ({"exp": float("nan")}, {}, "finite"),
        ({"exp": float("inf")}, {}, "finite"),
        ({"nbf": float("nan")}, {}, "finite"),
        ({"auth_time": float("nan")}, {"max_age": 60}, "finite"),
        ({"exp": NOW - 301}, {}, "expired"),
        ({"exp": None}, {}, "'exp'"),
        ({"exp": "tomorrow"}, {}, "not a number"),
        ({"exp": True}, {}, "not a number"),
        ({"nbf": NOW + 301}, {}, "not valid yet"),
        ({}, {"nonce": "other-hash"}, "nonce"),
        ({"nonce": None}, {"nonce": "n-hash"}, "nonce"),
        ({}, {"max_age": 60}, "max_age"),
        ({"auth_time": None}, {"max_age": 60}, "auth_time"),
        ({}, {"skew": 0, "nbf": None}, None),
    ],
)
def test_invalid_claims(
    changes: dict[str, Any], kwargs: dict[str, Any], message: str | None
) -> None:
    if message is None:  # skew 0 makes the 100 s-old nbf fine but a future nbf fail
        claims = {**GOOD, "nbf": NOW + 1}
        kwargs.pop("nbf")
        with pytest.raises(IdTokenError, match="not valid yet"):
            _check(claims, **kwargs)
        return
    claims = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    with pytest.raises(IdTokenError, match=message) as info:
        _check(claims, **kwargs)
    assert "n-hash" not in str(info.value)


def test_decode_id_token() -> None:
    token = "e30." + b64url_encode(b'{"sub": "s"}') + ".sig"
    assert decode_id_token(token) == {"sub": "s"}
    for bad in ["", "a.b", "a.!!!.c", "e30." + b64url_encode(b"[1]") + ".x"]:
        with pytest.raises(IdTokenError):
            decode_id_token(bad)


def test_nonce_hash_is_sha256_hex() -> None:
    assert nonce_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    first, second = new_nonce(), new_nonce()
    assert first != second and len(first) >= 16


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": 10**400},
        {"iat": 10**400},
        {"nbf": -(10**400)},
        {"sub": {"id": 1}},
        {"oid": 5},
        {"tid": ["t"]},
        {"preferred_username": True},
        {"sub": "\ud800"},
    ],
)
def test_claims_of_the_wrong_type_are_an_id_token_error_never_overflow(
    changes: dict[str, Any],
) -> None:
    import json

    payload = b64url_encode(json.dumps({"sub": "s", "exp": 1, **changes}).encode())
    with pytest.raises(IdTokenError):
        decode_id_token(f"e30.{payload}.sig")
