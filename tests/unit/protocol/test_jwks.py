from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tokensmith._jwt import b64url_encode
from tokensmith.errors import IdTokenError
from tokensmith.protocol.jws import sign_compact, verify_signature
from tokensmith.protocol.oidc.jwks import public_key_from_jwk, verify_jws_signature


def _int(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": _int(numbers.n), "e": _int(numbers.e), **extra}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }


CLAIMS = {"iss": "https://idp.example", "sub": "s", "aud": "c"}


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_rsa_signatures_verify(
    alg: str, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks = {"keys": [rsa_jwk(other_rsa_key, "k0"), rsa_jwk(rsa_key, "k1")]}
    token = sign_compact({"kid": "k1"}, CLAIMS, rsa_key, alg)
    verify_jws_signature(token, jwks)
    no_kid = sign_compact({}, CLAIMS, rsa_key, alg)
    verify_jws_signature(no_kid, jwks)  # tries every RSA key


def test_es256_verifies(ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign_compact({"kid": "e1"}, CLAIMS, ec_key, "ES256")
    verify_jws_signature(token, {"keys": [rsa_jwk(rsa_key, "e1"), ec_jwk(ec_key, "e1")]})


def _tamper_payload(token: str) -> str:
    head, _, sig = token.split(".")
    forged = b64url_encode(b'{"sub": "admin"}')
    return f"{head}.{forged}.{sig}"


def test_tampered_payload_fails(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks = {"keys": [rsa_jwk(rsa_key, "k1"), ec_jwk(ec_key, "e1")]}
    for token in (
        sign_compact({"kid": "k1"}, CLAIMS, rsa_key, "PS256"),
        sign_compact({"kid": "e1"}, CLAIMS, ec_key, "ES256"),
    ):
        with pytest.raises(IdTokenError, match="does not verify"):
            verify_jws_signature(_tamper_payload(token), jwks)


def test_signature_by_another_key_fails(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    token = sign_compact({"kid": "k1"}, CLAIMS, other_rsa_key, "RS256")
    with pytest.raises(IdTokenError, match="does not verify"):
        verify_jws_signature(token, {"keys": [rsa_jwk(rsa_key, "k1")]})


def test_unknown_kid(rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign_compact({"kid": "rotated"}, CLAIMS, rsa_key, "RS256")
    with pytest.raises(IdTokenError, match="kid 'rotated'"):
        verify_jws_signature(token, {"keys": [rsa_jwk(rsa_key, "k1")]})


def test_key_use_and_alg_are_respected(rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign_compact({"kid": "k1"}, CLAIMS, rsa_key, "RS256")
    with pytest.raises(IdTokenError, match="kid"):
        verify_jws_signature(token, {"keys": [rsa_jwk(rsa_key, "k1", use="enc")]})
    with pytest.raises(IdTokenError, match="kid"):
        verify_jws_signature(token, {"keys": [rsa_jwk(rsa_key, "k1", alg="PS256")]})


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("a.b", "3 parts"),
        (b64url_encode(b'{"alg":"none"}') + "." + b64url_encode(b"{}") + ".", "unsupported"),
        (b64url_encode(b'{"alg":"HS256"}') + ".e30.c2ln", "unsupported"),
        (b64url_encode(b'{"alg":["RS256"]}') + ".e30.c2ln", "unsupported"),  # unhashable
        (b64url_encode(b'{"alg":{"RS256":1}}') + ".e30.c2ln", "unsupported"),
        ("!!!.e30.c2ln", "base64url"),
        (b64url_encode(b'{"alg":"RS256"}') + ".é.c2ln", "base64url"),
    ],
)
def test_malformed_tokens(token: str, message: str, rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(IdTokenError, match=message):
        verify_jws_signature(token, {"keys": [rsa_jwk(rsa_key, "k1")]})


def test_bad_jwks(rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign_compact({}, CLAIMS, rsa_key, "RS256")
    with pytest.raises(IdTokenError, match="'keys'"):
        verify_jws_signature(token, {})
    with pytest.raises(IdTokenError, match="no RS256 key"):
        verify_jws_signature(token, {"keys": [{"kty": "EC"}]})
    with pytest.raises(IdTokenError, match="does not verify"):
        verify_jws_signature(token, {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]})


def test_public_key_from_jwk_errors() -> None:
    with pytest.raises(ValueError):
        public_key_from_jwk({"kty": "oct", "k": "AAAA"})
    with pytest.raises(ValueError):
        public_key_from_jwk({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})


def test_sign_compact_refuses_mismatched_keys(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(ValueError):
        sign_compact({}, CLAIMS, ec_key, "RS256")
    with pytest.raises(ValueError):
        sign_compact({}, CLAIMS, rsa_key, "ES256")
    with pytest.raises(ValueError):
        sign_compact({}, CLAIMS, rsa_key, "HS256")
    assert not verify_signature(b"x", b"y" * 64, ec_key.public_key(), "RS256")
