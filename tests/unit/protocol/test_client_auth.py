from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tokensmith._clock import FakeClock
from tokensmith._jwt import b64url_decode, b64url_encode, decode_jwt_claims
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.client_auth import (
    CLIENT_ASSERTION_TYPE_JWT,
    ClientAssertionAuth,
    ClientAuth,
    ClientSecretAuth,
    PublicClientAuth,
    client_auth_from_credential,
)
from tokensmith.protocol.client_certificate import CertificateAuth

ENDPOINT = "https://login.example/tenant/oauth2/v2.0/token"


def _header(token: str) -> dict[str, Any]:
    return dict(json.loads(b64url_decode(token.split(".")[0])))


def _verify(token: str, cert: x509.Certificate) -> None:
    """Check the signature with cryptography directly, independent of tokensmith.jws."""
    head, body, sig = token.split(".")
    alg = _header(token)["alg"]
    pad = (
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        if alg == "PS256"
        else padding.PKCS1v15()
    )
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(b64url_decode(sig), f"{head}.{body}".encode(), pad, hashes.SHA256())


def test_public_and_secret() -> None:
    assert PublicClientAuth().form_fields(ENDPOINT, 0) == {}
    auth = client_auth_from_credential("s3cret", client_id="cid")
    assert isinstance(auth, ClientSecretAuth)
    assert isinstance(auth, ClientAuth)
    assert auth.form_fields(ENDPOINT, 0) == {"client_secret": "s3cret"}
    assert auth.secret_field_names == {"client_secret"}
    assert "s3cret" not in repr(auth)
    assert isinstance(client_auth_from_credential(None, client_id="cid"), PublicClientAuth)


def test_certificate_from_pem_and_public_certificate_uses_ps256(
    key_pem: str, cert_pem: str, certificate: x509.Certificate
) -> None:
    auth = client_auth_from_credential(
        {"private_key": key_pem, "public_certificate": cert_pem},
        client_id="cid",
        client_claims={"xms_extra": "v"},
    )
    assert isinstance(auth, CertificateAuth)
    fields = auth.form_fields(ENDPOINT, 1_700_000_000.5)
    assert fields["client_assertion_type"] == CLIENT_ASSERTION_TYPE_JWT
    token = fields["client_assertion"]
    _verify(token, certificate)
    header = _header(token)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert header["alg"] == "PS256"
    assert header["typ"] == "JWT"
    assert header["x5t#S256"] == b64url_encode(certificate.fingerprint(hashes.SHA256()))
    assert "x5t" not in header
    assert header["x5c"] == [base64.b64encode(der).decode()]
    claims = decode_jwt_claims(token)
    assert claims["aud"] == ENDPOINT
    assert claims["iss"] == claims["sub"] == "cid"
    assert claims["iat"] == claims["nbf"] == 1_700_000_000
    assert claims["exp"] == 1_700_000_600
    assert claims["xms_extra"] == "v"
    assert len(claims["jti"]) == 36


def test_sha1_thumbprint_only_uses_rs256_x5t(key_pem: str, certificate: x509.Certificate) -> None:
    sha1 = certificate.fingerprint(hashes.SHA1()).hex().upper()
    auth = client_auth_from_credential({"private_key": key_pem, "thumbprint": sha1}, client_id="c")
    token = auth.form_fields(ENDPOINT, 0)["client_assertion"]
    _verify(token, certificate)
    header = _header(token)
    assert header["alg"] == "RS256"
    assert header["x5t"] == b64url_encode(bytes.fromhex(sha1))
    assert "x5t#S256" not in header
    assert "x5c" not in header


def test_adfs_falls_back_to_rs256_even_with_a_certificate(
    key_pem: str, cert_pem: str, certificate: x509.Certificate
) -> None:
    auth = client_auth_from_credential(
        {"private_key": key_pem, "public_certificate": cert_pem}, client_id="c", is_adfs=True
    )
    header = _header(auth.form_fields(ENDPOINT, 0)["client_assertion"])
    assert header["alg"] == "RS256"
    assert header["x5t"] == b64url_encode(certificate.fingerprint(hashes.SHA1()))


def test_every_request_gets_a_new_assertion_with_its_own_jti(key_pem: str, cert_pem: str) -> None:
    clock = FakeClock(1_700_000_000.0)
    auth = client_auth_from_credential(
        {"private_key": key_pem, "public_certificate": cert_pem}, client_id="c"
    )
    first = decode_jwt_claims(auth.form_fields(ENDPOINT, clock())["client_assertion"])
    second = decode_jwt_claims(auth.form_fields(ENDPOINT, clock())["client_assertion"])
    assert first["jti"] != second["jti"]
    clock.advance(541)
    third = decode_jwt_claims(auth.form_fields(ENDPOINT, clock())["client_assertion"])
    assert third["exp"] == 1_700_000_000 + 541 + 600
    other = auth.form_fields("https://login.example/other/token", clock())["client_assertion"]
    assert decode_jwt_claims(other)["aud"] == "https://login.example/other/token"


def test_pfx_with_passphrase_and_x5c(
    pfx_path: Path, certificate: x509.Certificate, passphrase: str
) -> None:
    cred = {"private_key_pfx_path": str(pfx_path), "passphrase": passphrase}
    token = client_auth_from_credential(cred, client_id="c").form_fields(ENDPOINT, 0)[
        "client_assertion"
    ]
    _verify(token, certificate)
    assert _header(token)["alg"] == "PS256"
    assert "x5c" not in _header(token)
    with_chain = client_auth_from_credential({**cred, "public_certificate": True}, client_id="c")
    header = _header(with_chain.form_fields(ENDPOINT, 0)["client_assertion"])
    assert len(header["x5c"]) == 1


def test_encrypted_pem_with_passphrase(
    encrypted_key_pem: str, cert_pem: str, passphrase: str
) -> None:
    auth = client_auth_from_credential(
        {
            "private_key": encrypted_key_pem,
            "public_certificate": cert_pem,
            "passphrase": passphrase,
        },
        client_id="c",
    )
    assert auth.form_fields(ENDPOINT, 0)["client_assertion"].count(".") == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, k, e, c: {"private_key_pfx_path": p, "passphrase": "wrong-Pa55"}, "passphrase"),
        (lambda p, k, e, c: {"private_key_pfx_path": p}, "passphrase"),
        (lambda p, k, e, c: {"private_key_pfx_path": p + ".missing"}, "cannot read"),
        (lambda p, k, e, c: {"private_key": e, "public_certificate": c}, "no passphrase"),
        (
            lambda p, k, e, c: {
                "private_key": e,
                "public_certificate": c,
                "passphrase": "wrong-Pa55",
            },
            "passphrase is wrong",
        ),
        (
            lambda p, k, e, c: {
                "private_key": k,
                "public_certificate": c,
                "passphrase": "wrong-Pa55",
            },
            "not encrypted",
        ),
        (lambda p, k, e, c: {"private_key": "garbage", "thumbprint": "ab" * 20}, "not a PEM"),
        (lambda p, k, e, c: {"private_key": k}, "'thumbprint' or 'public_certificate'"),
        (lambda p, k, e, c: {"private_key": k, "thumbprint": "xyz"}, "40 hexadecimal"),
        (lambda p, k, e, c: {"private_key": k, "public_certificate": k}, "private key"),
        (lambda p, k, e, c: {"private_key": k, "public_certificate": "nope"}, "not a PEM X.509"),
        (
            lambda p, k, e, c: {"private_key": k, "public_certificate": c, "thumbprint": "ab" * 20},
            "does not match",
        ),
        (lambda p, k, e, c: {"passphrase": "wrong-Pa55"}, "needs 'client_assertion'"),
    ],
)
def test_bad_certificate_credentials(
    make: Any,
    message: str,
    pfx_path: Path,
    key_pem: str,
    encrypted_key_pem: str,
    cert_pem: str,
    passphrase: str,
) -> None:
    credential = make(str(pfx_path), key_pem, encrypted_key_pem, cert_pem)
    with pytest.raises(ConfigurationError, match=message) as info:
        client_auth_from_credential(credential, client_id="c")
    text = str(info.value)
    assert "wrong-Pa55" not in text and passphrase not in text
    assert "PRIVATE KEY-----" not in text


def test_key_not_matching_certificate(other_rsa_key: rsa.RSAPrivateKey, cert_pem: str) -> None:
    other = other_rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ConfigurationError, match="does not match"):
        client_auth_from_credential(
            {"private_key": other, "public_certificate": cert_pem}, client_id="c"
        )


def test_ec_key_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ConfigurationError, match="RSA"):
        client_auth_from_credential({"private_key": pem, "thumbprint": "ab" * 20}, client_id="c")


def test_not_a_credential() -> None:
    with pytest.raises(ConfigurationError, match="secret string or a dict"):
        client_auth_from_credential(42, client_id="c")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        client_auth_from_credential("", client_id="c")


def test_static_assertion_string_and_bytes() -> None:
    auth = client_auth_from_credential({"client_assertion": "a.b.c"}, client_id="c")
    assert isinstance(auth, ClientAssertionAuth)
    assert auth.form_fields(ENDPOINT, 0) == {
        "client_assertion_type": CLIENT_ASSERTION_TYPE_JWT,
        "client_assertion": "a.b.c",
    }
    assert (
        ClientAssertionAuth(b"x.y.z", "c").form_fields(ENDPOINT, 0)["client_assertion"] == "x.y.z"
    )
    assert "a.b.c" not in repr(auth)


def test_zero_arg_callable_is_called_per_request() -> None:
    calls: list[int] = []

    def make() -> str:
        calls.append(1)
        return f"assertion-{len(calls)}"

    auth = ClientAssertionAuth(make, "cid")
    assert auth.form_fields(ENDPOINT, 0)["client_assertion"] == "assertion-1"
    assert auth.form_fields(ENDPOINT, 0)["client_assertion"] == "assertion-2"


def test_defaulted_parameter_counts_as_zero_arg() -> None:
    auth = ClientAssertionAuth(lambda token="fixed": token, "cid")
    assert auth.form_fields(ENDPOINT, 0)["client_assertion"] == "fixed"


def test_one_arg_callable_receives_context() -> None:
    seen: list[dict[str, str]] = []

    def make(context: dict[str, str]) -> str:
        seen.append(context)
        return "ctx-assertion"

    auth = client_auth_from_credential({"client_assertion": make}, client_id="cid")
    assert auth.form_fields(ENDPOINT, 0)["client_assertion"] == "ctx-assertion"
    assert seen == [{"client_id": "cid", "token_endpoint": ENDPOINT}]


def test_callable_returning_garbage() -> None:
    auth = ClientAssertionAuth(lambda: None, "cid")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="must return"):
        auth.form_fields(ENDPOINT, 0)
    with pytest.raises(ConfigurationError):
        ClientAssertionAuth(42, "cid")  # type: ignore[arg-type]


def test_certificate_auth_direct_construction(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ConfigurationError, match="SHA-1"):
        CertificateAuth(rsa_key, client_id="c", sha256_thumbprint="ab" * 32, is_adfs=True)
    with pytest.raises(ConfigurationError, match="64 hexadecimal"):
        CertificateAuth(rsa_key, client_id="c", sha256_thumbprint="ab" * 20)
    with pytest.raises(ConfigurationError, match="thumbprint is needed"):
        CertificateAuth(rsa_key, client_id="c")
    auth = CertificateAuth(rsa_key, client_id="c", sha1_thumbprint="AB:" * 19 + "AB")
    assert auth.algorithm == "RS256"
    assert "PRIVATE" not in repr(auth)
