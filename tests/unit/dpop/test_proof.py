"""DPoP proofs, client side (RFC 9449 §4.2) and RFC 7638 thumbprints."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from tests.unit.dpop.vectors import (
    RFC7638_RSA_JWK,
    RFC7638_RSA_THUMBPRINT,
    RFC9449_ACCESS_TOKEN,
    RFC9449_ATH,
    RFC9449_JKT,
    RFC9449_JWK,
    RFC9449_TOKEN_PROOF,
)

from tokensmith._jwt import b64url_decode, decode_json_part
from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.protocol.dpop import DPoPKey, NonceStore, access_token_hash, htu_of, origin_of
from tokensmith.protocol.jwk import public_jwk, public_key_from_jwk, thumbprint
from tokensmith.protocol.jws import verify_signature


def test_rfc7638_example_thumbprint() -> None:
    assert thumbprint(RFC7638_RSA_JWK) == RFC7638_RSA_THUMBPRINT


def test_rfc9449_example_key_thumbprint() -> None:
    assert thumbprint(RFC9449_JWK) == RFC9449_JKT


def test_thumbprint_ignores_optional_members() -> None:
    decorated = {**RFC9449_JWK, "kid": "k1", "alg": "ES256", "use": "sig"}
    assert thumbprint(decorated) == RFC9449_JKT


@pytest.mark.parametrize(
    "jwk",
    [{}, {"kty": "oct", "k": "AAAA"}, {"kty": "EC", "crv": "P-256", "x": "AA"}, {"kty": 5}],
)
def test_thumbprint_refuses_incomplete_keys(jwk: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        thumbprint(jwk)


def test_public_jwk_round_trips_the_rfc_keys() -> None:
    for jwk in (RFC7638_RSA_JWK, RFC9449_JWK):
        key = public_key_from_jwk({k: v for k, v in jwk.items() if k not in ("alg", "kid")})
        assert thumbprint(public_jwk(key)) == thumbprint(jwk)


def test_ed25519_jwk() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = public_jwk(key)
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and set(jwk) == {"kty", "crv", "x"}
    assert thumbprint(public_jwk(public_key_from_jwk(jwk))) == thumbprint(jwk)


def test_public_key_from_jwk_refuses_private_members() -> None:
    with pytest.raises(ProtocolError, match="private"):
        public_key_from_jwk({**RFC9449_JWK, "d": "AAAA"})


@pytest.mark.parametrize(
    "jwk",
    [
        {**RFC9449_JWK, "crv": "P-384"},
        {**RFC9449_JWK, "x": "AAAA"},
        {**RFC9449_JWK, "y": RFC9449_JWK["x"]},  # not on the curve
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},  # far too short
        {"kty": "OKP", "crv": "X25519", "x": "AAAA"},
        {"kty": "EC", "crv": "P-256", "x": "!!", "y": "!!"},
    ],
)
def test_public_key_from_jwk_refuses_bad_keys(jwk: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        public_key_from_jwk(jwk)


def test_rfc9449_example_proof_verifies_with_its_embedded_key() -> None:
    head, payload, signature = RFC9449_TOKEN_PROOF.split(".")
    header = decode_json_part(head)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert thumbprint(header["jwk"]) == RFC9449_JKT
    key = public_key_from_jwk(header["jwk"])
    assert verify_signature(f"{head}.{payload}".encode(), b64url_decode(signature), key, "ES256")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert not verify_signature(
        f"{head}.{tampered}".encode(), b64url_decode(signature), key, "ES256"
    )


def test_rfc9449_example_ath() -> None:
    assert access_token_hash(RFC9449_ACCESS_TOKEN) == RFC9449_ATH


def _parts(proof: str) -> tuple[dict[str, object], dict[str, object]]:
    head, payload, _ = proof.split(".")
    return decode_json_part(head), decode_json_part(payload)


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256", "EdDSA"])
def test_proof_has_the_rfc_claims_and_verifies(alg: str) -> None:
    key = DPoPKey.generate(alg)
    proof = key.proof("post", "https://AS.example.com:443/token?x=1#frag", now=1700000000.7)
    header, claims = _parts(proof)
    assert header == {"typ": "dpop+jwt", "alg": alg, "jwk": key.jwk}
    assert set(key.jwk) in ({"kty", "n", "e"}, {"kty", "crv", "x", "y"}, {"kty", "crv", "x"})
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://as.example.com/token"
    assert claims["iat"] == 1700000000
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert "nonce" not in claims and "ath" not in claims
    head, payload, sig = proof.split(".")
    public = public_key_from_jwk(key.jwk)
    assert verify_signature(f"{head}.{payload}".encode(), b64url_decode(sig), public, alg)
    assert key.jkt == thumbprint(key.jwk)


def test_every_proof_has_a_fresh_jti() -> None:
    key = DPoPKey.generate()
    jtis = {_parts(key.proof("POST", "https://as/t", now=1))[1]["jti"] for _ in range(50)}
    assert len(jtis) == 50


def test_proof_with_nonce_and_access_token() -> None:
    key = DPoPKey.generate()
    proof = key.proof(
        "GET",
        "https://rs.example.com/r",
        now=5,
        nonce="eyJ7S_zG",
        access_token=RFC9449_ACCESS_TOKEN,
    )
    claims = _parts(proof)[1]
    assert claims["nonce"] == "eyJ7S_zG"
    assert claims["ath"] == RFC9449_ATH


@pytest.mark.parametrize(
    ("url", "htu"),
    [
        ("https://Server.Example.COM/token", "https://server.example.com/token"),
        ("http://localhost:80/a/b?q=1", "http://localhost/a/b"),
        ("https://127.0.0.1:8443/t#x", "https://127.0.0.1:8443/t"),
        ("https://[::1]:9000/t", "https://[::1]:9000/t"),
        ("https://h", "https://h/"),
    ],
)
def test_htu_normalization(url: str, htu: str) -> None:
    assert htu_of(url) == htu


@pytest.mark.parametrize("url", ["/token", "ftp://h/x", "https:///x", "token"])
def test_htu_refuses_relative_or_other_schemes(url: str) -> None:
    with pytest.raises(ValueError):
        htu_of(url)


def test_key_from_pem_round_trip_and_repr_hides_the_key() -> None:
    key = DPoPKey.generate()
    again = DPoPKey.from_pem(key.private_pem())
    assert again.jkt == key.jkt and again.alg == "ES256"
    assert repr(key) == f"DPoPKey(alg='ES256', jkt={key.jkt!r})"
    assert "PRIVATE" not in repr(key)


def test_rsa_key_defaults_to_ps256_and_takes_rs256() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert DPoPKey(private).alg == "PS256"
    assert DPoPKey(private, "RS256").alg == "RS256"


@pytest.mark.parametrize(
    ("make", "alg"),
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "RS256"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "ES256"),
        (lambda: ed25519.Ed25519PrivateKey.generate(), "ES256"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "HS256"),
    ],
)
def test_key_that_does_not_fit_the_alg_is_a_configuration_error(make, alg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError):
        DPoPKey(make(), alg)


def test_not_a_key() -> None:
    with pytest.raises(ConfigurationError):
        DPoPKey("secret")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        DPoPKey.from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigurationError):
        DPoPKey.generate("none")


def test_nonce_store_keeps_the_newest_nonce_per_origin() -> None:
    store = NonceStore()
    assert store.get("https://as.example.com/token") is None
    assert store.update("https://as.example.com/token", {"dpop-nonce": "n1"})
    assert not store.update("https://AS.example.com:443/other", {"DPoP-Nonce": "n1"})
    assert store.update("https://as.example.com/token", {"dpop-nonce": "n2"})
    assert store.get("https://as.example.com/x?y") == "n2"
    assert store.get("https://rs.example.com/x") is None
    assert origin_of("https://as.example.com:8443/t") == "https://as.example.com:8443"


@pytest.mark.parametrize("value", ["", "has space", 'quo"te', "back\\slash", "x" * 5000, "é"])
def test_nonce_store_ignores_values_that_are_not_nonces(value: str) -> None:
    store = NonceStore()
    assert not store.update("https://as/t", {"dpop-nonce": value})
    assert store.get("https://as/t") is None
