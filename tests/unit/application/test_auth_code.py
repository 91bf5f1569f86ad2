"""initiate_auth_code_flow / acquire_token_by_auth_code_flow (and MSAL's deprecated
code methods) against the fake Entra: MSAL's validation, id_token checks, no leaks."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.unit.application.fake_entra import (
    HOST,
    TENANT,
    UID,
    FakeEntra,
    client_info,
    unsigned_jwt,
)

from tokensmith._jwt import b64url_encode, decode_jwt_claims
from tokensmith.engine.id_tokens import REFETCH_INTERVAL
from tokensmith.errors import IdTokenError
from tokensmith.protocol.jws import sign_compact
from tokensmith.protocol.oidc.nonce import nonce_hash
from tokensmith.protocol.pkce import code_challenge
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

SCOPES = ["User.Read"]
REDIRECT = "http://localhost:8400"
CODE = "auth-code-secret-5e1f"


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def id_token_claims(entra: FakeEntra, **changes: Any) -> None:
    """Make the fake's id_tokens carry ``changes`` (None removes a claim)."""

    def handler(form: dict[str, str]) -> HttpResponse:
        body = json.loads(entra.issue(form).text)
        claims = decode_jwt_claims(body["id_token"])
        claims.update(changes)
        body["id_token"] = unsigned_jwt({k: v for k, v in claims.items() if v is not None})
        return json_response(body)

    entra.token_handler = handler


def start(app: Any, **kwargs: Any) -> dict[str, Any]:
    flow: dict[str, Any] = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT, response_mode="form_post", **kwargs
    )
    return flow


def answer(flow: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"code": CODE, "state": flow["state"], "client_info": client_info(), **extra}


@pytest.fixture
def pca(make_pca: Callable[..., Any]) -> Any:
    return make_pca()


def test_flow_dict_and_authorization_url(pca: Any) -> None:
    flow = start(pca, login_hint="ada@contoso.example", prompt="select_account", max_age=600)
    assert set(flow) == {
        "auth_uri", "state", "redirect_uri", "scope", "code_verifier", "nonce",
        "claims_challenge", "max_age",
    }  # fmt: skip
    assert flow["scope"] == ["User.Read", "offline_access", "openid", "profile"]
    params = query(flow["auth_uri"])
    assert flow["auth_uri"].startswith(f"https://{HOST}/{TENANT}/oauth2/v2.0/authorize?")
    assert params["code_challenge"] == code_challenge(flow["code_verifier"])
    assert params["code_challenge_method"] == "S256"
    assert params["nonce"] == nonce_hash(flow["nonce"]) != flow["nonce"]
    assert params["state"] == flow["state"]
    assert params["response_mode"] == "form_post"
    assert params["redirect_uri"] == REDIRECT
    assert params["max_age"] == "600"
    assert params["X-AnchorMailbox"] == "UPN:ada@contoso.example"
    assert "code_verifier" not in params


def test_query_mode_warns_as_msal_does(pca: Any) -> None:
    with pytest.warns(UserWarning, match="form_post"):
        flow = pca.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    assert "response_mode" not in query(flow["auth_uri"])


def test_code_is_redeemed_with_pkce_and_cached(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    result = pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    assert result["token_source"] == "identity_provider", result
    form = entra.token_requests[-1]
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == CODE
    assert form["code_verifier"] == flow["code_verifier"]
    assert form["redirect_uri"] == REDIRECT
    assert set(form["scope"].split()) == set(flow["scope"])
    [account] = pca.get_accounts()
    assert account["home_account_id"] == f"{UID}.{TENANT}"
    assert pca.acquire_token_silent(SCOPES, account)["token_source"] == "cache"


def test_scopes_given_must_be_a_subset(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    with pytest.raises(ValueError, match="subset"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow), scopes=["Mail.Send"])
    assert entra.tokens_posted() == 0


@pytest.mark.parametrize("state", ["forged", None])
def test_state_mismatch_is_a_value_error(pca: Any, entra: FakeEntra, state: str | None) -> None:
    flow = start(pca)
    response = answer(flow)
    if state is None:
        del response["state"]
    else:
        response["state"] = state
    with pytest.raises(ValueError, match="state mismatch"):
        pca.acquire_token_by_auth_code_flow(flow, response)
    with pytest.raises(ValueError, match="state missing"):
        pca.acquire_token_by_auth_code_flow({}, answer(flow))
    with pytest.raises(ValueError, match="neither"):
        pca.acquire_token_by_auth_code_flow(flow, {"state": flow["state"]})
    with pytest.raises(TypeError):
        pca.acquire_token_by_auth_code_flow(flow, "code=x")
    assert entra.tokens_posted() == 0


def test_error_redirect_becomes_an_error_dict(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    result = pca.acquire_token_by_auth_code_flow(
        flow,
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent.",
            "state": flow["state"],
            "access_token": "planted-by-an-attacker",
        },
    )
    assert dict(result) == {
        "error": "access_denied",
        "error_description": "AADSTS65004: User declined to consent.",
    }
    assert entra.tokens_posted() == 0


def test_provider_refusal_is_returned(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    entra.token_handler = lambda form: json_response(
        {"error": "invalid_grant", "error_description": "AADSTS54005: already redeemed"}, 400
    )
    result = pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    assert result["error"] == "invalid_grant"
    assert pca.get_accounts() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nonce": "replayed"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"iss": "https://evil.example/v2.0"}, "issuer"),
        ({"aud": "another-app"}, "audience"),
        ({"exp": 1000}, "expired"),
        ({"nbf": 10**10}, "not valid yet"),
    ],
)
def test_bad_id_token_raises_and_caches_nothing(
    pca: Any, entra: FakeEntra, changes: dict[str, Any], message: str
) -> None:
    flow = start(pca)
    id_token_claims(entra, **{"nonce": nonce_hash(flow["nonce"]), **changes})
    with pytest.raises(IdTokenError, match=message) as caught:
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    assert isinstance(caught.value, RuntimeError)  # what MSAL raises
    assert pca.get_accounts() == []


def test_max_age_requires_a_recent_auth_time(pca: Any, entra: FakeEntra, clock: Any) -> None:
    flow = start(pca, max_age=60)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    with pytest.raises(RuntimeError, match="auth_time"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    flow = start(pca, max_age=60)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]), auth_time=int(clock()) - 3600)
    with pytest.raises(RuntimeError, match="max_age"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    flow = start(pca, max_age=60)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]), auth_time=float("nan"))
    # NaN compares False with everything: it must never pass for a recent auth_time.
    with pytest.raises(RuntimeError, match=r"auth_time|not base64url-encoded JSON"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    flow = start(pca, max_age=60)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]), auth_time=int(clock()) - 30)
    assert "access_token" in pca.acquire_token_by_auth_code_flow(flow, answer(flow))


def _rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "kid": kid, "use": "sig", "n": b64url_encode(n), "e": "AQAB"}


def _signed_flow(pca: Any, entra: FakeEntra, key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    """A fresh flow; the fake then signs id_tokens with ``key`` under ``kid``."""
    flow = start(pca)

    def handler(form: dict[str, str]) -> HttpResponse:
        body = json.loads(entra.issue(form).text)
        claims = decode_jwt_claims(body["id_token"]) | {"nonce": nonce_hash(flow["nonce"])}
        body["id_token"] = sign_compact({"kid": kid}, claims, key, "RS256")
        return json_response(body)

    entra.token_handler = handler
    return flow


def test_signature_is_verified_against_the_jwks_when_asked(pca: Any, entra: FakeEntra) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    entra.jwks = {"keys": [_rsa_jwk(key, "k1")]}
    flow = _signed_flow(pca, entra, other, "k1")
    with pytest.raises(IdTokenError, match="signature"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow), verify_id_token_signature=True)
    flow = _signed_flow(pca, entra, key, "k1")
    result = pca.acquire_token_by_auth_code_flow(flow, answer(flow), verify_id_token_signature=True)
    assert "access_token" in result
    assert entra.jwks_requests == 1  # one fetch per application while the kid is known


def test_unknown_key_id_refetches_the_jwks_at_most_every_few_minutes(
    pca: Any, entra: FakeEntra, clock: Any
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    entra.jwks = {"keys": [_rsa_jwk(key, "old")]}
    flow = _signed_flow(pca, entra, key, "old")
    pca.acquire_token_by_auth_code_flow(flow, answer(flow), verify_id_token_signature=True)
    assert entra.jwks_requests == 1
    clock.advance(REFETCH_INTERVAL + 1)
    # the provider rotated its key: an unknown kid refetches the key set once
    entra.jwks = {"keys": [_rsa_jwk(key, "rotated")]}
    flow = _signed_flow(pca, entra, key, "rotated")
    result = pca.acquire_token_by_auth_code_flow(flow, answer(flow), verify_id_token_signature=True)
    assert "access_token" in result
    assert entra.jwks_requests == 2
    # made-up kids right after do not turn each check into a JWKS request
    for n in range(3):
        flow = _signed_flow(pca, entra, key, f"made-up-{n}")
        with pytest.raises(IdTokenError, match="kid"):
            pca.acquire_token_by_auth_code_flow(flow, answer(flow), verify_id_token_signature=True)
    assert entra.jwks_requests == 2
    clock.advance(REFETCH_INTERVAL + 1)
    flow = _signed_flow(pca, entra, key, "made-up-again")
    with pytest.raises(IdTokenError, match="kid"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow), verify_id_token_signature=True)
    assert entra.jwks_requests == 3


def test_deprecated_code_methods(pca: Any, entra: FakeEntra) -> None:
    with pytest.warns(DeprecationWarning):
        url = pca.get_authorization_request_url(SCOPES, state="s1", redirect_uri=REDIRECT)
    params = query(url)
    assert params["state"] == "s1" and "code_challenge" not in params
    assert set(params["scope"].split()) == {"User.Read", "offline_access", "openid", "profile"}
    id_token_claims(entra, nonce="n-1")
    with pytest.warns(DeprecationWarning):
        result = pca.acquire_token_by_authorization_code(
            CODE, SCOPES, redirect_uri=REDIRECT, nonce="n-1"
        )
    assert result["token_source"] == "identity_provider"
    assert "code_verifier" not in entra.token_requests[-1]
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="nonce"):
        pca.acquire_token_by_authorization_code(CODE, SCOPES, nonce="other")
    with pytest.raises(ValueError, match="list"):
        pca.acquire_token_by_authorization_code(CODE, "User.Read")


def test_confidential_apps_have_the_flow_too(
    make_cca: Callable[..., Any], entra: FakeEntra
) -> None:
    cca = make_cca()
    flow = start(cca)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    result = cca.acquire_token_by_auth_code_flow(flow, answer(flow))
    assert result["token_source"] == "identity_provider"
    assert entra.token_requests[-1]["client_secret"] == "s3cret"


def test_no_code_verifier_or_token_in_debug_logs(
    pca: Any, entra: FakeEntra, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flow = start(pca)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    result = pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    secrets = [CODE, flow["code_verifier"], result["access_token"], result["refresh_token"]]
    secrets.append(result["id_token"])
    assert [r for r in caplog.records if r.name.startswith("tokensmith")]
    assert not [s for s in secrets if s in caplog.text]
    assert CODE not in repr(result) and result["access_token"] not in repr(result)


def test_a_flow_redeems_once(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    forged = answer(flow, state="attacker")
    with pytest.raises(ValueError, match="state mismatch"):  # does not use the flow up
        pca.acquire_token_by_auth_code_flow(flow, forged)
    assert "access_token" in pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    for replay in (answer(flow), answer(flow, code="another-code")):
        with pytest.raises(ValueError, match="already used"):
            pca.acquire_token_by_auth_code_flow(dict(flow), replay)
    assert entra.tokens_posted() == 1


def test_a_flow_whose_redemption_failed_is_used_up_too(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    id_token_claims(entra, nonce="replayed")
    with pytest.raises(IdTokenError):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    with pytest.raises(ValueError, match="already used"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    assert entra.tokens_posted() == 1


def test_openid_flows_need_a_nonce_and_an_id_token(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    for broken in ({**flow, "nonce": None}, {k: v for k, v in flow.items() if k != "nonce"}):
        with pytest.raises(ValueError, match="nonce missing"):
            pca.acquire_token_by_auth_code_flow(broken, answer(flow))
    assert entra.tokens_posted() == 0

    def no_id_token(form: dict[str, str]) -> HttpResponse:
        body = json.loads(entra.issue(form).text)
        del body["id_token"]
        return json_response(body)

    entra.token_handler = no_id_token
    with pytest.raises(IdTokenError, match="no id_token"):  # else the nonce goes unchecked
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    assert pca.get_accounts() == []


def test_redirect_uri_and_pkce_come_from_the_flow_only(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    with pytest.raises(ValueError, match="redirect_uri differs"):
        pca.acquire_token_by_auth_code_flow(
            flow, answer(flow), redirect_uri="https://elsewhere.example/cb"
        )
    for field in ("redirect_uri", "code_verifier", "code"):
        with pytest.raises(ValueError, match="data may not set"):
            pca.acquire_token_by_auth_code_flow(flow, answer(flow), data={field: "x"})
    assert entra.tokens_posted() == 0
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    result = pca.acquire_token_by_auth_code_flow(flow, answer(flow), redirect_uri=REDIRECT)
    assert "access_token" in result
    assert entra.token_requests[-1]["redirect_uri"] == REDIRECT


def test_a_tampered_flow_is_refused(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    for changes in ({"scope": "openid profile"}, {"max_age": "60"}, {"state": 7}):
        tampered = {**flow, **changes}
        with pytest.raises(ValueError):
            pca.acquire_token_by_auth_code_flow(tampered, answer(tampered))
    assert entra.tokens_posted() == 0


def test_a_tenant_id_that_is_not_a_guid_cannot_forge_the_issuer(
    make_pca: Callable[..., Any], entra: FakeEntra
) -> None:
    pca = make_pca(authority="https://login.microsoftonline.com/organizations")
    flow = start(pca)
    forged_tid = "evil.example/x"
    id_token_claims(
        entra,
        nonce=nonce_hash(flow["nonce"]),
        tid=forged_tid,
        iss=f"https://{HOST}/{forged_tid}/v2.0",
    )
    with pytest.raises(IdTokenError, match="GUID"):
        pca.acquire_token_by_auth_code_flow(flow, answer(flow))
    flow = start(pca)  # the real tenant fills the template
    id_token_claims(entra, nonce=nonce_hash(flow["nonce"]))
    assert "access_token" in pca.acquire_token_by_auth_code_flow(flow, answer(flow))


def test_no_secret_in_exception_messages(pca: Any, entra: FakeEntra) -> None:
    flow = start(pca)
    secret_values = [CODE, flow["code_verifier"], flow["nonce"], nonce_hash(flow["nonce"])]
    messages: list[str] = []
    id_token_claims(entra, nonce="replayed")
    for call in (
        lambda: pca.acquire_token_by_auth_code_flow(flow, answer(flow, state="x")),
        lambda: pca.acquire_token_by_auth_code_flow(flow, answer(flow), data={"code": CODE}),
        lambda: pca.acquire_token_by_auth_code_flow(flow, answer(flow)),  # nonce mismatch
        lambda: pca.acquire_token_by_auth_code_flow(flow, answer(flow)),  # already used
    ):
        with pytest.raises((ValueError, RuntimeError)) as caught:
            call()
        messages.append(f"{caught.value!s} {caught.value!r}")
    assert len(messages) == 4
    assert not [s for s in secret_values for m in messages if s in m]
