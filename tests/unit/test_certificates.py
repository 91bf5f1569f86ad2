"""tokensmith.certificates.load_certificate: PEM or PFX into MSAL's credential dict,
thumbprint computed; every bad file is a ConfigurationError naming it."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

import tokensmith
from tokensmith.certificates import certificate_thumbprints, load_certificate
from tokensmith.devidp import DevIdP
from tokensmith.errors import ConfigurationError

DAEMON = "9b1e4d7a-5c3f-4e2b-8a6d-7f0c2b9e4a15"


def _pair() -> tuple[Any, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test app")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def pair() -> tuple[Any, x509.Certificate]:
    return _pair()


def _key_pem(key: Any, password: bytes | None = None) -> bytes:
    encryption: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    fmt = serialization.PrivateFormat.PKCS8
    return bytes(key.private_bytes(serialization.Encoding.PEM, fmt, encryption))


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _check(credential: dict[str, str], key: Any, cert: x509.Certificate) -> None:
    assert set(credential) == {"private_key", "thumbprint", "public_certificate"}
    assert credential["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex().upper()
    loaded = serialization.load_pem_private_key(credential["private_key"].encode(), None)
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert loaded.public_key().public_bytes(*raw) == key.public_key().public_bytes(*raw)
    assert credential["public_certificate"] == _cert_pem(cert).decode()


@pytest.mark.parametrize("order", ["key-first", "cert-first"])
def test_pem_with_key_and_certificate(tmp_path: Path, pair: Any, order: str) -> None:
    key, cert = pair
    parts = [_key_pem(key), _cert_pem(cert)]
    path = tmp_path / "app.pem"
    path.write_bytes(b"".join(parts if order == "key-first" else parts[::-1]))
    _check(load_certificate(path), key, cert)
    _check(load_certificate(str(path)), key, cert)
    _check(load_certificate(path.read_bytes()), key, cert)


def test_encrypted_pem_needs_its_password(tmp_path: Path, pair: Any) -> None:
    key, cert = pair
    path = tmp_path / "locked.pem"
    path.write_bytes(_key_pem(key, b"pw") + _cert_pem(cert))
    _check(load_certificate(path, password="pw"), key, cert)
    with pytest.raises(ConfigurationError, match="is encrypted: give its password"):
        load_certificate(path)
    with pytest.raises(ConfigurationError, match="wrong password"):
        load_certificate(path, password="nope")


@pytest.mark.parametrize("password", [b"s3cret", None])
def test_pfx(tmp_path: Path, pair: Any, password: bytes | None) -> None:
    key, cert = pair
    encryption: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path = tmp_path / "app.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"app", key, cert, None, encryption))
    _check(load_certificate(path, password=password), key, cert)
    if password:
        with pytest.raises(ConfigurationError, match=f"{path} is neither PEM nor a PFX"):
            load_certificate(path, password="wrong")


def test_bad_files_name_the_problem(tmp_path: Path, pair: Any) -> None:
    key, cert = pair
    other_key, _ = _pair()
    cases = {
        "mismatch.pem": (_key_pem(other_key) + _cert_pem(cert), "does not belong"),
        "cert-only.pem": (_cert_pem(cert), "holds no private key"),
        "key-only.pem": (_key_pem(key), "holds no certificate"),
        "garbage.bin": (b"\x00\x01 not a certificate", "is neither PEM nor a PFX"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ConfigurationError, match=message) as info:
            load_certificate(path)
        assert name in str(info.value)
    with pytest.raises(ConfigurationError, match="cannot read certificate file"):
        load_certificate(tmp_path / "missing.pem")


def test_thumbprints(pair: Any) -> None:
    _, cert = pair
    sha1, sha256 = certificate_thumbprints(_cert_pem(cert).decode())
    assert sha1 == cert.fingerprint(hashes.SHA1()).hex().upper()
    assert sha256 == cert.fingerprint(hashes.SHA256()).hex().upper()
    with pytest.raises(ConfigurationError):
        certificate_thumbprints("nope")


def test_a_pfx_of_the_dev_idp_certificate_gets_a_token(tmp_path: Path) -> None:
    with DevIdP() as idp:
        pem = idp.client_certificate_path(DAEMON).read_bytes()
        key = serialization.load_pem_private_key(pem, None)
        cert = x509.load_pem_x509_certificate(pem)
        pfx = tmp_path / "daemon.pfx"
        encryption = serialization.BestAvailableEncryption(b"pfx-pass")
        pfx.write_bytes(pkcs12.serialize_key_and_certificates(b"d", key, cert, None, encryption))  # type: ignore[arg-type]
        app = tokensmith.ConfidentialClientApplication(
            DAEMON,
            client_credential=load_certificate(pfx, password="pfx-pass"),
            authority=idp.authority("contoso.onmicrosoft.com"),
            verify=str(idp.ca_path),
        )
        result = app.acquire_token_for_client(["api://tokensmith-api-b/.default"])
        assert "access_token" in result, result
        assert (
            idp.client_certificate(DAEMON)["thumbprint"]
            == certificate_thumbprints(cert.public_bytes(serialization.Encoding.PEM))[0]
        )
