"""Load a certificate credential (PEM or PFX) into the dict MSAL's ``client_credential``
takes, thumbprint computed.

::

    from tokensmith.certificates import load_certificate

    credential = load_certificate("app.pfx", password="...")   # or a PEM file, or bytes
    app = tokensmith.ConfidentialClientApplication(client_id, client_credential=credential)

The dict has MSAL Python's keys, so ``msal.ConfidentialClientApplication`` takes it too:

* ``private_key``: the key as unencrypted PKCS#8 PEM text (the file's password is not
  needed again; keep the dict as secret as the key);
* ``thumbprint``: the SHA-1 thumbprint of the certificate (hex, upper case), which
  Entra shows beside an uploaded certificate;
* ``public_certificate``: the certificate chain as PEM text, leaf first (sent as
  ``x5c`` for subject name / issuer authentication).

``cryptography`` is imported when a file is loaded, not when this module is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokensmith.errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

__all__ = ["certificate_thumbprints", "load_certificate"]

_PEM_KEY = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.S)
_PEM_CERT_MARKER = b"-----BEGIN CERTIFICATE-----"


def load_certificate(
    source: str | os.PathLike[str] | bytes, password: str | bytes | None = None
) -> dict[str, str]:
    """Read a PEM (private key and certificate, in any order, in one file) or a PFX /
    PKCS#12 file, and return MSAL's certificate credential dict (see the module doc).

    Args:
        source: a file path, or the file's bytes.
        password: the PFX password, or the PEM key's passphrase, if it has one.

    Raises:
        ConfigurationError: unreadable file, no key or no certificate in it, a wrong or
            missing password, or a key that does not belong to the certificate.
    """
    data, name = _read(source)
    secret = password.encode() if isinstance(password, str) else password
    if _PEM_CERT_MARKER in data or _PEM_KEY.search(data):
        key, chain = _from_pem(data, secret, name)
    else:
        key, chain = _from_pfx(data, secret, name)
    _check_pair(key, chain[0], name)
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    chain_pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain)
    sha1, _ = _thumbprints(chain[0])
    return {"private_key": key_pem, "thumbprint": sha1, "public_certificate": chain_pem}


def certificate_thumbprints(certificate_pem: str | bytes) -> tuple[str, str]:
    """The SHA-1 and SHA-256 thumbprints (hex, upper case) of a PEM certificate.

    Raises:
        ConfigurationError: the text holds no PEM certificate.
    """
    from cryptography import x509

    data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
    try:
        return _thumbprints(x509.load_pem_x509_certificate(data))
    except ValueError:
        raise ConfigurationError("not a PEM X.509 certificate") from None


def _read(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "the certificate data"
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read certificate file {path}: {exc.strerror}") from None


def _from_pem(data: bytes, password: bytes | None, name: str) -> tuple[Any, list[Certificate]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        chain = x509.load_pem_x509_certificates(data) if _PEM_CERT_MARKER in data else []
    except ValueError:
        raise ConfigurationError(f"{name}: a PEM certificate in it cannot be read") from None
    if not chain:
        raise ConfigurationError(f"{name} holds no certificate (-----BEGIN CERTIFICATE-----)")
    block = _PEM_KEY.search(data)
    if block is None:
        raise ConfigurationError(f"{name} holds no private key (-----BEGIN PRIVATE KEY-----)")
    try:
        key = serialization.load_pem_private_key(block.group(0), password)
    except TypeError:
        problem = "is encrypted: give its password" if password is None else "is not encrypted"
        raise ConfigurationError(f"{name}: the private key {problem}") from None
    except ValueError:
        raise ConfigurationError(f"{name}: wrong password, or the key cannot be read") from None
    return key, chain


def _from_pfx(data: bytes, password: bytes | None, name: str) -> tuple[Any, list[Certificate]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{name} is neither PEM nor a PFX this password opens "
            f"({'no password given' if password is None else 'wrong password?'})"
        ) from None
    if key is None or cert is None:
        raise ConfigurationError(f"{name} must hold both a private key and a certificate")
    return key, [cert, *extra]


def _check_pair(key: Any, certificate: Certificate, name: str) -> None:
    from cryptography.hazmat.primitives import serialization

    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != certificate.public_key().public_bytes(*raw):
        raise ConfigurationError(f"{name}: the private key does not belong to the certificate")


def _thumbprints(certificate: Certificate) -> tuple[str, str]:
    from cryptography.hazmat.primitives import hashes

    sha1 = certificate.fingerprint(hashes.SHA1()).hex().upper()
    return sha1, certificate.fingerprint(hashes.SHA256()).hex().upper()
