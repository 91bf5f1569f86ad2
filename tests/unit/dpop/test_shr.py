"""Entra PoP with a software key: req_cnf, the signed HTTP request, its validation,
and acquire_token_for_client(auth_scheme=PopAuthScheme(...))."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.application.fake_entra import TENANT, FakeEntra, unsigned_jwt

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith._jwt import b64url_encode, decode_json_part
from tokensmith.protocol.dpop import DPoPKey
from tokensmith.protocol.shr import (
    ShrError,
    pop_request_fields,
    req_cnf,
    sign_http_request,
    validate_http_request,
)
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

NOW = 1_700_000_000.0
URL = "https://api.contoso.example:8443/v1/items?x=1"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT}"
SCOPES = ["https://api.contoso.example/.default"]


def bound_token(key: DPoPKey, **claims: Any) -> str:
    return unsigned_jwt({"aud": "api", "cnf": {"kid": key.jkt}, **claims})


def test_req_cnf_names_the_thumbprint() -> None:
    key = DPoPKey.generate()
    assert decode_json_part(req_cnf(key)) == {"kid": key.jkt}
    assert pop_request_fields(key) == {"token_type": "pop", "req_cnf": req_cnf(key)}


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256", "EdDSA"])
def test_signed_request_has_the_claims_and_validates(alg: str) -> None:
    key = DPoPKey.generate(alg)
    at = bound_token(key)
    shr = sign_http_request(key, at, method="get", url=URL, nonce="n-1", now=NOW)
    header = decode_json_part(shr.split(".")[0])
    claims = decode_json_part(shr.split(".")[1])
    assert header == {"typ": "pop", "alg": alg, "kid": key.jkt}
    assert claims == {
        "at": at,
        "ts": int(NOW),
        "m": "GET",
        "u": "api.contoso.example:8443",
        "p": "/v1/items",
        "nonce": "n-1",
        "cnf": {"jwk": key.jwk},
    }
    checked = validate_http_request(shr, method="GET", url=URL, now=NOW + 10)
    assert checked.kid == key.jkt and checked.nonce == "n-1" and checked.access_token == at


def test_default_port_is_left_out_and_nonce_made_when_absent() -> None:
    key = DPoPKey.generate()
    shr = sign_http_request(
        key, bound_token(key), method="POST", url="https://h:443/", nonce=None, now=NOW
    )
    claims = decode_json_part(shr.split(".")[1])
    assert claims["u"] == "h" and claims["p"] == "/" and len(claims["nonce"]) >= 16


def _tamper(shr: str, **changes: Any) -> str:
    head, body, sig = shr.split(".")
    claims = decode_json_part(body)
    claims.update(changes)
    return f"{head}.{b64url_encode(json.dumps(claims).encode())}.{sig}"


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda k, s: "x.y", "compact JWS"),
        (lambda k, s: "!!.!!.!!", "malformed"),
        (lambda k, s: _tamper(s, at=None), "no access token"),
        (lambda k, s: _tamper(s, at="opaque"), "not a JWT"),
        (lambda k, s: _tamper(s, at=unsigned_jwt({"aud": "api"})), "cnf.kid"),
        (lambda k, s: _tamper(s, cnf={}), "cnf.jwk"),
        (lambda k, s: _tamper(s, cnf={"jwk": DPoPKey.generate().jwk}), "bound to"),
        (lambda k, s: _tamper(s, nonce="other"), "signature"),
    ],
)
def test_refused_requests(make: Any, what: str) -> None:
    key = DPoPKey.generate()
    shr = sign_http_request(key, bound_token(key), method="GET", url=URL, nonce="n", now=NOW)
    with pytest.raises(ShrError, match=what):
        validate_http_request(make(key, shr), method="GET", url=URL, now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"method": "POST"}, "method"),
        ({"url": "https://api.contoso.example/v1/items"}, "host"),
        ({"url": "https://API.contoso.example:8443/v1/other"}, "path"),
        ({"now": NOW + 301}, "ts"),
        ({"now": NOW - 61}, "ts"),
    ],
)
def test_request_checks(kwargs: dict[str, Any], what: str) -> None:
    key = DPoPKey.generate()
    shr = sign_http_request(key, bound_token(key), method="GET", url=URL, nonce="n", now=NOW)
    args: dict[str, Any] = {"method": "GET", "url": URL, "now": NOW, **kwargs}
    with pytest.raises(ShrError, match=what):
        validate_http_request(shr, **args)
    relaxed = {
        **args,
        "url": URL.replace("api.contoso", "API.contoso").replace("/items", "/items/"),
    }
    if what not in ("host", "path"):
        return
    validate_http_request(shr, method="GET", url=relaxed["url"], now=NOW)


class PopEntra(FakeEntra):
    """Issues PoP tokens (cnf.kid from req_cnf) when asked for token_type=pop."""

    def issue(self, form: dict[str, str]) -> HttpResponse:
        body = json.loads(super().issue(form).text)
        if form.get("token_type") == "pop":
            kid = decode_json_part(form["req_cnf"])["kid"]
            body["access_token"] = unsigned_jwt(
                {"aud": "api", "cnf": {"kid": kid}, "n": self.counter}
            )
            body["token_type"] = "pop"
        return json_response(body)


@pytest.fixture
def entra() -> PopEntra:
    return PopEntra(FakeClock(NOW))


def cca(entra: PopEntra, **kwargs: Any) -> Any:
    return tokensmith.ConfidentialClientApplication(
        "cca-client",
        "s3cret",
        authority=AUTHORITY,
        transport=entra.transport,
        clock=entra.clock,
        **kwargs,
    )


def test_client_credentials_pop_token_is_an_shr_resigned_per_call(entra: PopEntra) -> None:
    app = cca(entra)
    scheme = tokensmith.PopAuthScheme("GET", URL, "nonce-1")
    result = app.acquire_token_for_client(SCOPES, auth_scheme=scheme)
    assert result["token_type"] == "pop", result
    (form,) = entra.token_requests
    assert form["token_type"] == "pop" and decode_json_part(form["req_cnf"])["kid"]
    checked = validate_http_request(result["access_token"], method="GET", url=URL, now=NOW)
    assert checked.nonce == "nonce-1"
    entra.clock.advance(5)  # type: ignore[attr-defined]
    other = tokensmith.PopAuthScheme("POST", "https://api.contoso.example/v2", "nonce-2")
    again = app.acquire_token_for_client(SCOPES, auth_scheme=other)
    assert len(entra.token_requests) == 1  # the bound token came from the cache
    second = validate_http_request(again["access_token"], method="POST", url=other.url, now=NOW + 5)
    assert second.access_token == checked.access_token and second.nonce == "nonce-2"
    assert again["access_token"] != result["access_token"]


def test_pop_token_is_not_served_as_bearer(entra: PopEntra) -> None:
    app = cca(entra)
    app.acquire_token_for_client(SCOPES, auth_scheme=tokensmith.PopAuthScheme("GET", URL, "n"))
    plain = app.acquire_token_for_client(SCOPES)
    assert plain["token_type"] == "Bearer"
    assert len(entra.token_requests) == 2


def test_pop_and_dpop_are_not_mixed(entra: PopEntra) -> None:
    app = cca(entra, dpop=True)
    with pytest.raises(ValueError, match="dpop"):
        app.acquire_token_for_client(SCOPES, auth_scheme=tokensmith.PopAuthScheme("GET", URL, "n"))


def test_bearer_answer_to_a_pop_request_is_refused(entra: PopEntra) -> None:
    entra.token_handler = super(PopEntra, entra).issue
    result = cca(entra).acquire_token_for_client(
        SCOPES, auth_scheme=tokensmith.PopAuthScheme("GET", URL, "n")
    )
    assert result["error"] == "invalid_response" and "PoP" in result["error_description"]


def test_pop_needs_a_pop_auth_scheme(entra: PopEntra) -> None:
    with pytest.raises(ValueError, match="PopAuthScheme"):
        cca(entra).acquire_token_for_client(SCOPES, auth_scheme="pop")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=50).map(repr)))
def test_any_text_gives_an_shr_error_never_another_exception(value: str) -> None:
    with pytest.raises(ShrError):
        validate_http_request(value, method="GET", url=URL, now=NOW)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["at", "ts", "m", "u", "p", "nonce", "cnf"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=20),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
        ),
    )
)
def test_any_signed_claims_give_an_shr_error_or_pass(claims: dict[str, Any]) -> None:
    key = KEY
    base = {"at": bound_token(key), "ts": int(NOW), "m": "GET", "cnf": {"jwk": key.jwk}}
    head = b64url_encode(json.dumps({"typ": "pop", "alg": key.alg, "kid": key.jkt}).encode())
    body = b64url_encode(json.dumps({**base, **claims}).encode())
    shr = f"{head}.{body}.{b64url_encode(key.sign(f'{head}.{body}'.encode()))}"
    with contextlib.suppress(ShrError):  # signed by the right key: the later checks run
        validate_http_request(shr, method="GET", url=URL, now=NOW)


KEY = DPoPKey.generate()
