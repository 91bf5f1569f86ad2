"""The resource-side checks of RFC 9449 §4.3, with the RFC's proof and hostile inputs."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.dpop.vectors import (
    RFC9449_JKT,
    RFC9449_TOKEN_PROOF,
    RFC9449_TOKEN_PROOF_IAT,
)

from tokensmith._clock import FakeClock
from tokensmith._jwt import b64url_encode
from tokensmith.protocol.dpop import DPoPKey
from tokensmith.protocol.dpop_verify import DPoPProofError, DPoPVerifier, ReplayCache
from tokensmith.protocol.jwk import public_jwk
from tokensmith.protocol.jws import sign_compact

NOW = 1_700_000_000.0
URL = "https://rs.example.com/api/items"


def verifier(**kwargs: Any) -> DPoPVerifier:
    return DPoPVerifier(clock=FakeClock(NOW), **kwargs)


def crafted(
    header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None, **extra: Any
) -> str:
    """A proof signed by a fresh EC key, with ``header``/``claims`` overriding the
    well-formed defaults (a value of None removes the member)."""
    key = ec.generate_private_key(ec.SECP256R1())
    head: dict[str, Any] = {"typ": "dpop+jwt", "jwk": public_jwk(key)}
    body: dict[str, Any] = {"jti": "j-1", "htm": "GET", "htu": URL, "iat": int(NOW)}
    head.update(header or {})
    body.update(claims or {})
    head = {k: v for k, v in head.items() if v is not None}
    body = {k: v for k, v in body.items() if v is not None}
    return sign_compact(head, body, key, extra.get("alg", "ES256"))


def error_of(proof: Any, **kwargs: Any) -> DPoPProofError:
    kwargs.setdefault("method", "GET")
    kwargs.setdefault("url", URL)
    with pytest.raises(DPoPProofError) as info:
        verifier().verify(proof, **kwargs)
    return info.value


def test_the_rfc_example_proof_passes_at_its_time() -> None:
    check = DPoPVerifier(clock=FakeClock(RFC9449_TOKEN_PROOF_IAT + 2))
    proof = check.verify(RFC9449_TOKEN_PROOF, method="POST", url="https://server.example.com/token")
    assert proof.jkt == RFC9449_JKT
    assert proof.jti == "-BwC3ESc6acc2lTc"
    assert proof.iat == RFC9449_TOKEN_PROOF_IAT


def test_the_rfc_example_proof_is_too_old_now() -> None:
    error = error_of(RFC9449_TOKEN_PROOF, method="POST", url="https://server.example.com/token")
    assert error.error == "invalid_dpop_proof" and "iat" in error.description


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256", "EdDSA"])
def test_own_proofs_pass_with_token_binding(alg: str) -> None:
    key = DPoPKey.generate(alg)
    proof = key.proof("get", URL + "?page=2#top", now=NOW, access_token="tok-1")
    result = verifier().verify(
        [proof], method="GET", url=URL + "?page=2", access_token="tok-1", jkt=key.jkt
    )
    assert result.jkt == key.jkt and result.claims["ath"]


def test_replayed_jti_is_refused_within_the_window() -> None:
    check = verifier()
    proof = DPoPKey.generate().proof("GET", URL, now=NOW)
    check.verify(proof, method="GET", url=URL)
    with pytest.raises(DPoPProofError, match="jti was used before"):
        check.verify(proof, method="GET", url=URL)


def test_replay_cache_forgets_expired_entries() -> None:
    cache = ReplayCache()
    for i in range(3000):
        assert cache.first_use(f"j{i}", now=float(i), until=float(i) + 10)
    assert len(cache) < 2100
    assert not cache.first_use("j2999", now=3000.0, until=3010.0)
    assert cache.first_use("j0", now=3000.0, until=3010.0)


@pytest.mark.parametrize(
    ("proofs", "what"),
    [
        (None, "exactly one"),
        ([], "exactly one"),
        (["a.b.c", "a.b.c"], "exactly one"),
        ("a.b.c, d.e.f", "exactly one"),
        ("   ", "exactly one"),
        ([5], "exactly one"),
        ("x" * 9000, "too long"),
        ("only.two", "three parts"),
        ("a..c", "three parts"),
        ("!!.!!.!!", "malformed"),
        ("é.é.é", "malformed"),
        (b64url_encode(b"[1]") + ".e30.AA", "malformed"),
    ],
)
def test_malformed_headers(proofs: Any, what: str) -> None:
    error = error_of(proofs)
    assert error.error == "invalid_dpop_proof" and what in error.description


@pytest.mark.parametrize(
    ("header", "what"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"typ": None}, "typ"),
        ({"jwk": None}, "no jwk"),
        ({"jwk": "key"}, "no jwk"),
        ({"jwk": {"kty": "oct", "k": "c2VjcmV0"}}, "jwk is not usable"),
        ({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}}, "private"),
    ],
)
def test_bad_headers(header: dict[str, Any], what: str) -> None:
    assert what in error_of(crafted(header)).description


@pytest.mark.parametrize("alg", ["none", "HS256", "ES384", 7, None])
def test_alg_must_be_accepted_and_asymmetric(alg: Any) -> None:
    proof = crafted()
    head, payload, sig = proof.split(".")
    forged_head = json.loads(base64.urlsafe_b64decode(head + "=="))
    forged_head["alg"] = alg
    forged = f"{b64url_encode(json.dumps(forged_head).encode())}.{payload}.{sig}"
    assert "alg" in error_of(forged).description


def test_alg_outside_the_verifiers_list() -> None:
    proof = DPoPKey.generate("EdDSA").proof("GET", URL, now=NOW)
    with pytest.raises(DPoPProofError, match="alg"):
        verifier(algorithms=["ES256"]).verify(proof, method="GET", url=URL)


def test_signature_must_be_by_the_embedded_key() -> None:
    other = public_jwk(ec.generate_private_key(ec.SECP256R1()))
    proof = crafted()
    head, payload, sig = proof.split(".")
    forged_head = json.loads(base64.urlsafe_b64decode(head + "=="))
    forged_head["jwk"] = other
    forged = f"{b64url_encode(json.dumps(forged_head).encode())}.{payload}.{sig}"
    assert "signature" in error_of(forged).description
    assert "signature" in error_of(f"{head}.{payload}.AAAA").description


@pytest.mark.parametrize(
    ("claims", "what"),
    [
        ({"jti": None}, "jti"),
        ({"jti": ""}, "jti"),
        ({"jti": 5}, "jti"),
        ({"jti": "x" * 300}, "jti"),
        ({"htm": None}, "htm"),
        ({"htu": ["u"]}, "htu"),
        ({"iat": None}, "iat"),
        ({"iat": "1700000000"}, "iat"),
        ({"iat": True}, "iat"),
        ({"htm": "POST"}, "htm does not match"),
        ({"htu": "https://rs.example.com/api/other"}, "htu does not match"),
        ({"htu": "https://evil.example.com/api/items"}, "htu does not match"),
        ({"htu": "/api/items"}, "htu does not match"),
        ({"iat": NOW - 301}, "window"),
        ({"iat": NOW + 61}, "window"),
        ({"nonce": 5}, "nonce"),
        ({"ath": 5}, "ath"),
    ],
)
def test_bad_claims(claims: dict[str, Any], what: str) -> None:
    assert what in error_of(crafted(claims=claims)).description


def test_nan_iat_is_refused_as_malformed() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    head = b64url_encode(
        json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key)}).encode()
    )
    body = b64url_encode(b'{"jti":"j","htm":"GET","htu":"%s","iat":NaN}' % URL.encode())
    assert error_of(f"{head}.{body}.AAAA").error == "invalid_dpop_proof"


def test_iat_within_the_window_passes() -> None:
    for iat in (NOW - 299, NOW + 59):
        verifier().verify(crafted(claims={"iat": iat}), method="GET", url=URL)


def test_htu_compared_after_normalization() -> None:
    proof = crafted(claims={"htu": "HTTPS://RS.example.com:443/api/items"})
    verifier().verify(proof, method="get", url=URL + "?q=1#f")


def test_server_nonce() -> None:
    assert error_of(crafted(), nonce="n-1").error == "use_dpop_nonce"
    error = error_of(crafted(claims={"nonce": "old"}), nonce=["n-1", "n-2"])
    assert error.error == "use_dpop_nonce"
    result = verifier().verify(
        crafted(claims={"nonce": "n-2"}), method="GET", url=URL, nonce=["n-1", "n-2"]
    )
    assert result.nonce == "n-2"


def test_access_token_binding() -> None:
    key = DPoPKey.generate()
    good = key.proof("GET", URL, now=NOW, access_token="tok")
    assert (
        "ath"
        in error_of(key.proof("GET", URL, now=NOW), access_token="tok", jkt=key.jkt).description
    )
    wrong_ath = key.proof("GET", URL, now=NOW, access_token="other")
    assert "ath" in error_of(wrong_ath, access_token="tok", jkt=key.jkt).description
    assert error_of(good, access_token="tok", jkt=None).error == "invalid_token"
    other = DPoPKey.generate().jkt
    assert error_of(good, access_token="tok", jkt=other).error == "invalid_token"


def test_challenge_header() -> None:
    error = error_of(crafted(header={"typ": "JWT"}))
    assert error.www_authenticate(("ES256",)) == (
        'DPoP error="invalid_dpop_proof", error_description="the proof\'s typ is not dpop+jwt",'
        ' algs="ES256"'
    )
    assert "eyJ" not in str(error)


def test_verifier_refuses_unknown_algorithms() -> None:
    with pytest.raises(ValueError):
        DPoPVerifier(algorithms=["HS256"])
    with pytest.raises(ValueError):
        DPoPVerifier(algorithms=[])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.text(max_size=50), max_size=3), st.none()))
def test_any_header_value_gives_a_dpop_error_never_another_exception(value: Any) -> None:
    with pytest.raises(DPoPProofError):
        verifier().verify(value, method="GET", url=URL)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["jti", "htm", "htu", "iat", "nonce", "ath", "x"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    )
)
def test_any_signed_claims_give_a_dpop_error_or_pass(claims: dict[str, Any]) -> None:
    proof = crafted(claims=claims)
    with contextlib.suppress(DPoPProofError):
        verifier().verify(proof, method="GET", url=URL)
