"""Certificate credentials: an RFC 7523 §2.2 JWT client assertion signed with the app's key.

The assertion follows Microsoft's "certificate credentials" format: ``aud`` = the token
endpoint, ``iss`` = ``sub`` = client id, ``jti`` a fresh UUID, ``iat``/``nbf``/``exp``
(600 s), signed ``PS256`` with an ``x5t#S256`` thumbprint header, or ``RS256`` with
``x5t`` (SHA-1) when the credential names a thumbprint or the authority is ADFS
(RFC 7515 §4.1.7-§4.1.8; the choice MSAL Python 1.39 makes). ``x5c`` (RFC 7515
§4.1.6) carries the certificate(s) for subject name / issuer authentication.
``cryptography`` is imported lazily.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokensmith._jwt import b64url_encode
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.jws import sign_compact

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.x509 import Certificate

__all__ = ["ASSERTION_LIFETIME", "CertificateAuth", "certificate_auth_from_dict"]

ASSERTION_LIFETIME = 600
"""Seconds an assertion is valid."""
_CLIENT_ASSERTION_TYPE_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HEX = re.compile(r"[0-9a-fA-F]+")


def _hex_thumbprint(value: str, what: str, length: int) -> str:
    cleaned = value.replace(":", "").replace(" ", "").strip()
    if len(cleaned) != length or not _HEX.fullmatch(cleaned):
        raise ConfigurationError(f"{what} must be {length} hexadecimal digits")
    return cleaned.lower()


class CertificateAuth:
    """Signs a fresh client assertion (new ``jti``) with an RSA key for every request.

    MSAL reuses one assertion for about nine minutes; a provider that enforces
    RFC 7523 §3's one-time ``jti`` rejects the second request. Signing costs about a
    millisecond, and only token requests that go to the network pay it.

    Args:
        private_key: the application's RSA private key (a ``cryptography`` object).
        client_id: becomes ``iss`` and ``sub``.
        sha256_thumbprint: hex SHA-256 of the DER certificate, if known.
        sha1_thumbprint: hex SHA-1 of the DER certificate, if known.
        x5c: base64 DER certificates (leaf first) to send in the ``x5c`` header.
        is_adfs: ADFS only understands ``RS256`` + ``x5t``.
        client_claims: extra claims; they may override the standard ones (as MSAL).

    Raises:
        ConfigurationError: no usable thumbprint, or the key is not RSA.
    """

    secret_field_names = frozenset({"client_assertion"})

    def __init__(
        self,
        private_key: RSAPrivateKey,
        *,
        client_id: str,
        sha256_thumbprint: str | None = None,
        sha1_thumbprint: str | None = None,
        x5c: Sequence[str] | None = None,
        is_adfs: bool = False,
        client_claims: Mapping[str, Any] | None = None,
    ) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ConfigurationError("the certificate's private key must be an RSA key")
        self._key = private_key
        self._client_id = client_id
        self._claims = dict(client_claims or {})
        header: dict[str, Any] = {}
        if sha256_thumbprint and not is_adfs:
            digest = _hex_thumbprint(sha256_thumbprint, "a SHA-256 thumbprint", 64)
            self.algorithm = "PS256"
            header["x5t#S256"] = b64url_encode(bytes.fromhex(digest))
        elif sha1_thumbprint:
            digest = _hex_thumbprint(sha1_thumbprint, "thumbprint (SHA-1)", 40)
            self.algorithm = "RS256"
            header["x5t"] = b64url_encode(bytes.fromhex(digest))
        else:
            raise ConfigurationError(
                "a SHA-1 thumbprint is needed" if is_adfs else "a certificate thumbprint is needed"
            )
        if x5c:
            header["x5c"] = list(x5c)
        self.header: Mapping[str, Any] = header

    def __repr__(self) -> str:
        return f"CertificateAuth({self.algorithm}, client_id={self._client_id!r})"

    def form_fields(
        self,
        token_endpoint: str,
        now: float,
        fmi_path: str | None = None,
        audience: str | None = None,
    ) -> dict[str, str]:
        """Return ``client_assertion_type`` and a new assertion for ``token_endpoint``."""
        assertion = self._sign(audience or token_endpoint, now)
        return {"client_assertion_type": _CLIENT_ASSERTION_TYPE_JWT, "client_assertion": assertion}

    def _sign(self, token_endpoint: str, now: float) -> str:
        issued = int(now)
        claims: dict[str, Any] = {
            "aud": token_endpoint,
            "iss": self._client_id,
            "sub": self._client_id,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        claims.update(self._claims)
        return sign_compact(self.header, claims, self._key, self.algorithm)


def _passphrase_bytes(value: object) -> bytes | None:
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise ConfigurationError("passphrase must be a string or bytes")


def _load_private_key(pem: object, passphrase: bytes | None) -> Any:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    if isinstance(pem, str):
        pem = pem.encode("utf-8")
    if not isinstance(pem, bytes):
        raise ConfigurationError("private_key must be a PEM string or bytes")
    try:
        return serialization.load_pem_private_key(pem, passphrase)
    except TypeError as exc:  # passphrase given for a clear key, or missing for a locked one
        missing = passphrase is None
        raise ConfigurationError(
            "private_key is encrypted but no passphrase was given"
            if missing
            else "a passphrase was given but private_key is not encrypted"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(
            "private_key could not be loaded: it is not a PEM private key, or the "
            "passphrase is wrong"
        ) from exc


def _load_certificates(pem: object) -> list[Certificate]:
    from cryptography import x509

    if isinstance(pem, str):
        pem = pem.encode("utf-8")
    if not isinstance(pem, bytes):
        raise ConfigurationError("public_certificate must be a PEM string")
    if b"PRIVATE KEY" in pem and b"CERTIFICATE" not in pem:
        raise ConfigurationError("public_certificate holds a private key, not a certificate")
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise ConfigurationError("public_certificate is not a PEM X.509 certificate") from exc


def _der_b64(cert: Certificate) -> str:
    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _check_pair(key: Any, cert: Certificate) -> None:
    from cryptography.hazmat.primitives import serialization

    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, fmt) != cert.public_key().public_bytes(enc, fmt):
        raise ConfigurationError("private_key does not match the certificate's public key")


def _load_pfx(path: object, passphrase: bytes | None) -> tuple[Any, list[Certificate]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    if not isinstance(path, str):
        raise ConfigurationError("private_key_pfx_path must be a path string")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read private_key_pfx_path {path!r}: {exc.strerror}"
        ) from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot open PFX file {path!r}: wrong or missing passphrase, or not PKCS#12"
        ) from exc
    if key is None or cert is None:
        raise ConfigurationError(
            f"PFX file {path!r} must hold both a private key and a certificate"
        )
    return key, [cert, *extra]


def certificate_auth_from_dict(
    credential: Mapping[str, Any],
    *,
    client_id: str,
    is_adfs: bool = False,
    client_claims: Mapping[str, Any] | None = None,
) -> CertificateAuth:
    """Build a :class:`CertificateAuth` from an MSAL certificate ``client_credential`` dict.

    The header follows MSAL Python 1.39 for each combination:

    * ``private_key`` + ``thumbprint``: the thumbprint is the SHA-1 one, ``RS256`` with
      ``x5t``; a ``public_certificate`` PEM adds its whole chain as ``x5c``;
    * ``private_key`` + ``public_certificate`` (no thumbprint): both thumbprints are
      computed from the first certificate, ``PS256`` with ``x5t#S256`` and that
      certificate as ``x5c``;
    * ``private_key_pfx_path``: thumbprints from the PFX's certificate (a ``thumbprint``
      is ignored, as in MSAL), ``PS256``; ``public_certificate=True`` adds it as ``x5c``;
    * an ADFS authority always gets ``RS256`` with the SHA-1 ``x5t``.

    Raises:
        ConfigurationError: missing fields, unreadable or mismatched key/certificate.
    """
    passphrase = _passphrase_bytes(credential.get("passphrase"))
    public_cert = credential.get("public_certificate")
    thumbprint = credential.get("thumbprint") or None
    sha1: str | None = None
    sha256: str | None = None
    x5c: list[Certificate] = []
    if credential.get("private_key_pfx_path"):
        key, certs = _load_pfx(credential["private_key_pfx_path"], passphrase)
        sha1, sha256 = _thumbprints(certs[0])
        x5c = certs[:1] if public_cert is True else []
    elif credential.get("private_key"):
        key = _load_private_key(credential["private_key"], passphrase)
        pem = public_cert if isinstance(public_cert, (str, bytes)) and public_cert else None
        if thumbprint is not None:
            if not isinstance(thumbprint, str):
                raise ConfigurationError("thumbprint must be a hex string")
            sha1 = _hex_thumbprint(thumbprint, "thumbprint (SHA-1)", 40)
            x5c = _load_certificates(pem) if pem is not None else []
            if x5c and _thumbprints(x5c[0])[0] != sha1:
                raise ConfigurationError("thumbprint does not match public_certificate")
        elif pem is not None:
            leaf = _load_certificates(pem)[0]
            sha1, sha256 = _thumbprints(leaf)
            x5c = [leaf]
        else:
            raise ConfigurationError(
                "a certificate credential needs 'thumbprint' or 'public_certificate'"
            )
    else:
        raise ConfigurationError(
            "client_credential dict needs 'client_assertion', 'private_key' or "
            "'private_key_pfx_path'"
        )
    if x5c:
        _check_pair(key, x5c[0])
    return CertificateAuth(
        key,
        client_id=client_id,
        sha256_thumbprint=sha256,
        sha1_thumbprint=sha1,
        x5c=[_der_b64(c) for c in x5c] or None,
        is_adfs=is_adfs,
        client_claims=client_claims,
    )


def _thumbprints(cert: Certificate) -> tuple[str, str]:
    """The certificate's SHA-1 and SHA-256 thumbprints (hex of the DER)."""
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA1()).hex(), cert.fingerprint(hashes.SHA256()).hex()
