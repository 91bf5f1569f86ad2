"""Throw-away PKI for the interop provider: a CA, a loopback server certificate and a
client-assertion key pair, made with ``cryptography`` at session start.

Nothing here is trusted outside the test session: the CA's private key is discarded
once the server certificate is signed.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tokensmith._jwt import b64url_encode

_VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class ServerPki:
    """Where the PEM files of the loopback https server were written."""

    ca_path: Path
    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class ClientKey:
    """An RSA key pair with a self-signed certificate, for ``private_key_jwt``.

    Attributes:
        private_key_pem: PKCS#8 PEM of the private key.
        certificate_pem: PEM of the self-signed certificate holding the public key.
        thumbprint_sha1: hex SHA-1 of the certificate's DER (MSAL's ``thumbprint``).
        public_jwk: the public key as a JWK (registered with the provider).
    """

    private_key_pem: str
    certificate_pem: str
    thumbprint_sha1: str
    public_jwk: dict[str, Any]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name("tokensmith interop test CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(aki, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def make_server_pki(directory: Path) -> ServerPki:
    """Create a CA and a server certificate for 127.0.0.1 and localhost.

    Args:
        directory: existing folder the three PEM files are written to.

    Returns:
        The paths of the CA certificate, the server certificate and its key.
    """
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_certificate(ca_key, ca_cert, server_key)
    pki = ServerPki(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    pki.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    pki.key_path.write_bytes(_pem(server_key))
    return pki


def make_client_key() -> ClientKey:
    """Create an RSA key and a self-signed certificate for a ``private_key_jwt`` client."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("tokensmith interop client"))
        .issuer_name(_name("tokensmith interop client"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "n": b64url_encode(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url_encode(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }
    return ClientKey(
        private_key_pem=_pem(key).decode("ascii"),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint_sha1=hashlib.sha1(der).hexdigest(),
        public_jwk=jwk,
    )
