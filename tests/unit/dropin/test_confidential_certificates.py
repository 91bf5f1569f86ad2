"""Item 6 of issue 9: a certificate credential is signed as MSAL 1.39 signs it. The same
credential dict goes to the real MSAL and to tokensmith; the client assertion each
sends (captured by the in-process ``http_client``) must carry the same header.

What may differ, and is compared by meaning: MSAL's thumbprints are base64url with
``=`` padding and its ``x5c`` strings keep the PEM's line breaks; tokensmith sends
both in their RFC 7515 forms (unpadded base64url, base64 without line breaks).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from pathlib import Path
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from tests.unit.dropin.confidential_oracle import SCOPES, RegionalFake, jwt_header, token_form

import tokensmith
from tokensmith._jwt import b64url_decode, decode_jwt_claims

ADFS = "https://adfs.contoso.example/adfs"
ENTRA = "https://login.microsoftonline.com/7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"


def _cert(
    key: rsa.RSAPrivateKey, name: str, issuer_key: rsa.RSAPrivateKey, issuer: str
) -> x509.Certificate:
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(issuer_key, hashes.SHA256())
    )


class Material:
    """An app key, its certificate issued by a test CA, and the PEMs / PFX of them."""

    def __init__(self, directory: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca = _cert(ca_key, "test-ca", ca_key, "test-ca")
        self.leaf = _cert(self.key, "test-app", ca_key, "test-ca")
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        pem = serialization.Encoding.PEM
        self.leaf_pem = self.leaf.public_bytes(pem).decode()
        self.chain_pem = self.leaf_pem + self.ca.public_bytes(pem).decode()
        self.sha1 = self.leaf.fingerprint(hashes.SHA1()).hex()
        self.pfx = directory / "app.pfx"
        self.pfx.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"app",
                self.key,
                self.leaf,
                [self.ca],
                serialization.BestAvailableEncryption(b"pfx-Pa55"),
            )
        )

    def der(self, cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return Material(tmp_path_factory.mktemp("certs"))


def _assertion(module: Any, credential: dict[str, Any], authority: str) -> str:
    fake = RegionalFake()
    app = module.ConfidentialClientApplication(
        "cert-app", client_credential=credential, authority=authority, http_client=fake
    )
    result = app.acquire_token_for_client(SCOPES)
    assert "access_token" in result, result
    form = token_form(fake)
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    return str(form["client_assertion"])


def _meaning(header: dict[str, Any]) -> dict[str, Any]:
    """The header with thumbprints as bytes and x5c as DER bytes (encodings aside)."""
    out = dict(header)
    for name in ("x5t", "x5t#S256"):
        if name in out:
            out[name] = b64url_decode(out[name].rstrip("="))
    if "x5c" in out:
        out["x5c"] = [base64.b64decode("".join(c.split())) for c in out["x5c"]]
    return out


def _verify(token: str, key: rsa.RSAPrivateKey) -> None:
    head, body, sig = token.split(".")
    alg = jwt_header(token)["alg"]
    pad: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        if alg == "PS256"
        else padding.PKCS1v15()
    )
    key.public_key().verify(b64url_decode(sig), f"{head}.{body}".encode(), pad, hashes.SHA256())


CASES = {
    "thumbprint": (lambda m: {"private_key": m.key_pem, "thumbprint": m.sha1}, "RS256"),
    "thumbprint, upper case": (
        lambda m: {"private_key": m.key_pem, "thumbprint": m.sha1.upper()},
        "RS256",
    ),
    "thumbprint + certificate chain": (
        lambda m: {
            "private_key": m.key_pem,
            "thumbprint": m.sha1,
            "public_certificate": m.chain_pem,
        },
        "RS256",
    ),
    "certificate, no thumbprint": (
        lambda m: {"private_key": m.key_pem, "public_certificate": m.leaf_pem},
        "PS256",
    ),
    "certificate chain, no thumbprint": (
        lambda m: {"private_key": m.key_pem, "public_certificate": m.chain_pem},
        "PS256",
    ),
    "pfx": (lambda m: {"private_key_pfx_path": str(m.pfx), "passphrase": "pfx-Pa55"}, "PS256"),
    "pfx + public_certificate=True": (
        lambda m: {
            "private_key_pfx_path": str(m.pfx),
            "passphrase": "pfx-Pa55",
            "public_certificate": True,
        },
        "PS256",
    ),
    "pfx + a thumbprint (ignored)": (
        lambda m: {
            "private_key_pfx_path": str(m.pfx),
            "passphrase": "pfx-Pa55",
            "thumbprint": m.sha1,
        },
        "PS256",
    ),
}


@pytest.mark.parametrize("authority", [ENTRA, ADFS], ids=["entra", "adfs"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_assertion_header_is_msals(material: Material, case: str, authority: str) -> None:
    make, entra_alg = CASES[case]
    theirs = _assertion(msal, make(material), authority)
    ours = _assertion(tokensmith, make(material), authority)
    assert _meaning(jwt_header(ours)) == _meaning(jwt_header(theirs))
    expected_alg = "RS256" if authority == ADFS else entra_alg
    assert jwt_header(ours)["alg"] == expected_alg
    _verify(ours, material.key)
    _verify(theirs, material.key)
    claims, their_claims = decode_jwt_claims(ours), decode_jwt_claims(theirs)
    for name in ("aud", "iss", "sub"):
        assert claims[name] == their_claims[name]


def test_the_header_names_the_thumbprints_as_msal_computes_them(material: Material) -> None:
    """Beyond the comparison: the values are the certificate's own thumbprints."""
    chain = {"private_key": material.key_pem, "public_certificate": material.chain_pem}
    header = _meaning(jwt_header(_assertion(tokensmith, chain, ENTRA)))
    assert header["x5t#S256"] == material.leaf.fingerprint(hashes.SHA256())
    assert "x5t" not in header
    assert header["x5c"] == [material.der(material.leaf)]
    with_thumbprint = dict(chain, thumbprint=material.sha1)
    header = _meaning(jwt_header(_assertion(tokensmith, with_thumbprint, ENTRA)))
    assert header["x5t"] == binascii.unhexlify(material.sha1)
    assert header["x5c"] == [material.der(material.leaf), material.der(material.ca)]


@pytest.mark.parametrize(
    "credential",
    [
        lambda m: {"private_key": m.key_pem},
        lambda m: {"private_key": m.key_pem, "public_certificate": True},
        lambda m: {"passphrase": "x"},
    ],
    ids=["key alone", "key + public_certificate=True", "no key"],
)
def test_an_incomplete_credential_is_a_value_error_in_both(
    material: Material, credential: Any
) -> None:
    for module in (msal, tokensmith):
        with pytest.raises(ValueError):
            _assertion(module, credential(material), ENTRA)


def test_a_regional_request_names_what_msal_names(material: Material) -> None:
    """The POST goes to the regional host; a certificate assertion's ``aud`` stays the
    authority's endpoint, while an assertion callable is told the regional one (MSAL
    1.39 does both)."""
    seen: dict[str, list[str]] = {"msal": [], "tokensmith": []}
    auds, urls = [], []
    for module in (msal, tokensmith):
        fake = RegionalFake()
        cred = {"private_key": material.key_pem, "thumbprint": material.sha1}
        app = module.ConfidentialClientApplication(
            "cert-app", cred, authority=ENTRA, http_client=fake, azure_region="westus"
        )
        app.acquire_token_for_client(SCOPES)
        auds.append(decode_jwt_claims(token_form(fake)["client_assertion"])["aud"])
        urls.append(fake.token_posts()[0].url)

        def assertion(context: dict[str, str], mine: list[str] = seen[module.__name__]) -> str:
            mine.append(context["token_endpoint"])
            return "header.payload.signature"

        other = module.ConfidentialClientApplication(
            "cid",
            {"client_assertion": assertion},
            authority=ENTRA,
            http_client=RegionalFake(),
            azure_region="westus",
        )
        other.acquire_token_for_client(SCOPES)
    regional = "https://westus.login.microsoft.com/7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
    assert urls == [f"{regional}/oauth2/v2.0/token"] * 2
    assert auds == [f"{ENTRA}/oauth2/v2.0/token"] * 2
    assert seen["tokensmith"] == seen["msal"] == [f"{regional}/oauth2/v2.0/token"]
