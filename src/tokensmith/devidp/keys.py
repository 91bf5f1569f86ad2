"""Key material of the dev identity provider: a local CA, the TLS certificate it
signs for loopback, the token-signing key and certificates for confidential apps.

Everything lives in a state directory and is reused on the next start, so the CA a
developer trusted once stays valid. Files holding private keys are created 0600.
The JWKS ``kid`` equals ``x5t``, the base64url SHA-1 of the signing certificate
(reference/entra-protocol.md §1.4).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tokensmith._jwt import b64url_encode

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["KeyMaterial", "load_or_create_keys", "thumbprints"]

_CA_NAME = "tokensmith dev-idp local CA"


@dataclass(frozen=True)
class KeyMaterial:
    """Paths and keys the server needs.

    Attributes:
        ca_path: PEM of the CA certificate clients must trust.
        tls_cert_path: PEM chain (server certificate, then CA) for the TLS listener.
        tls_key_path: PEM private key of the TLS certificate.
        signing_key: RSA key that signs tokens.
        signing_cert_der: DER certificate of the signing key (published in ``x5c``).
        kid: key id of the signing key (= ``x5t``).
        client_cert_paths: client id → PEM file with private key and certificate, for
            apps whose config says ``certificates = ["generate"]``.
        client_cert_pems: client id → PEM certificate of those generated credentials.
    """

    ca_path: Path
    tls_cert_path: Path
    tls_key_path: Path
    signing_key: RSAPrivateKey
    signing_cert_der: bytes
    kid: str
    client_cert_paths: dict[str, Path]
    client_cert_pems: dict[str, str]


def thumbprints(cert_der: bytes) -> tuple[str, str]:
    """Return ``(x5t, x5t#S256)``: base64url SHA-1 and SHA-256 of a DER certificate."""
    sha1 = hashlib.sha1(cert_der, usedforsecurity=False).digest()
    return b64url_encode(sha1), b64url_encode(hashlib.sha256(cert_der).digest())


def load_or_create_keys(state_dir: Path, client_ids: list[str]) -> KeyMaterial:
    """Load the key material from ``state_dir``, creating whatever is missing.

    Args:
        state_dir: directory for the CA, keys and generated client credentials.
        client_ids: apps that need a generated certificate credential.
    """
    from cryptography.hazmat.primitives import serialization

    state_dir.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _load_pair(state_dir / "ca-key.pem", state_dir / "ca.pem")
    if ca_key is None or ca_cert is None:
        ca_key, ca_cert = _new_cert(_CA_NAME, None, None, ca=True)
        _write_pair(state_dir / "ca-key.pem", state_dir / "ca.pem", ca_key, ca_cert)
    tls_key, tls_cert = _new_cert("127.0.0.1", ca_key, ca_cert, ca=False, san=True)
    pem = serialization.Encoding.PEM
    _write_pair(state_dir / "tls-key.pem", state_dir / "tls.pem", tls_key, tls_cert)
    with (state_dir / "tls.pem").open("ab") as out:
        out.write(ca_cert.public_bytes(pem))
    sign_key, sign_cert = _load_pair(state_dir / "signing-key.pem", state_dir / "signing.pem")
    if sign_key is None or sign_cert is None:
        sign_key, sign_cert = _new_cert("tokensmith dev-idp token signing", None, None)
        _write_pair(state_dir / "signing-key.pem", state_dir / "signing.pem", sign_key, sign_cert)
    der = sign_cert.public_bytes(serialization.Encoding.DER)
    paths: dict[str, Path] = {}
    pems: dict[str, str] = {}
    for client_id in client_ids:
        paths[client_id], pems[client_id] = _client_credential(state_dir / "clients", client_id)
    return KeyMaterial(
        ca_path=state_dir / "ca.pem",
        tls_cert_path=state_dir / "tls.pem",
        tls_key_path=state_dir / "tls-key.pem",
        signing_key=sign_key,
        signing_cert_der=der,
        kid=thumbprints(der)[0],
        client_cert_paths=paths,
        client_cert_pems=pems,
    )


def _client_credential(folder: Path, client_id: str) -> tuple[Path, str]:
    """A PEM file with a private key and a self-signed certificate for one client."""
    from cryptography.hazmat.primitives import serialization

    path = folder / f"{client_id}.pem"
    key, cert = _load_pair(path, path)
    if key is None or cert is None:
        folder.mkdir(parents=True, exist_ok=True)
        key, cert = _new_cert(f"dev-idp client {client_id}", None, None)
        _write_pair(path, path, key, cert)
    return path, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _load_pair(
    key_path: Path, cert_path: Path
) -> tuple[RSAPrivateKey | None, x509.Certificate | None]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return None, None
    expires = getattr(cert, "not_valid_after_utc", None)
    if expires is None:  # pragma: no cover - cryptography < 42
        expires = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    if not isinstance(key, RSAPrivateKey) or expires < datetime.datetime.now(datetime.timezone.utc):
        return None, None
    return key, cert


def _write_pair(
    key_path: Path, cert_path: Path, key: RSAPrivateKey, cert: x509.Certificate
) -> None:
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    if key_path == cert_path:
        _write_private(key_path, key_pem + cert_pem)
        return
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert_pem)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _new_cert(
    common_name: str,
    issuer_key: RSAPrivateKey | None,
    issuer_cert: x509.Certificate | None,
    *,
    ca: bool = False,
    san: bool = False,
) -> tuple[RSAPrivateKey, x509.Certificate]:
    """A fresh RSA key and certificate, self-signed unless an issuer is given."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825 if not ca else 3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if san:
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if issuer_key is not None and issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value),
            critical=False,
        )
    return key, builder.sign(issuer_key or key, hashes.SHA256())
