"""Compact JWS signing and signature checks (RFC 7515 §3.1, §5; algorithms RFC 7518 §3).

Supports ``RS256`` (RSASSA-PKCS1-v1_5), ``PS256`` (RSASSA-PSS, salt = hash length,
RFC 7518 §3.5) and ``ES256`` (ECDSA P-256, ``r || s`` signature, RFC 7518 §3.4);
``EdDSA`` (Ed25519, RFC 8037 §3.1) for DPoP proofs, outside ``SUPPORTED_ALGORITHMS``
(the algorithms accepted for id tokens).
``cryptography`` is imported inside the functions that need it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokensmith._jwt import b64url_decode, b64url_encode, decode_json_part
from tokensmith.errors import ProtocolError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    PrivateKey = RSAPrivateKey | EllipticCurvePrivateKey | Ed25519PrivateKey
    PublicKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "sign_bytes",
    "sign_compact",
    "split_compact",
    "verify_signature",
]

SUPPORTED_ALGORITHMS = frozenset({"RS256", "PS256", "ES256"})
_ES256_PART = 32  # bytes of r and of s for P-256


def _json_part(value: Mapping[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def sign_compact(
    header: Mapping[str, Any], claims: Mapping[str, Any], key: PrivateKey, alg: str
) -> str:
    """Return ``claims`` signed as a compact JWS.

    Args:
        header: extra header parameters (``x5t``, ``kid``...); ``alg`` and ``typ``
            are set here (``typ`` defaults to ``JWT``).
        claims: the JSON payload.
        key: an RSA private key (RS256/PS256) or an EC P-256 private key (ES256).
        alg: ``RS256``, ``PS256`` or ``ES256``.

    Raises:
        ValueError: the algorithm is not supported or does not fit the key.
    """
    full_header = {"typ": "JWT", **header, "alg": alg}
    signing_input = f"{_json_part(full_header)}.{_json_part(claims)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url_encode(sign_bytes(signing_input, key, alg))}"


def sign_bytes(data: bytes, key: PrivateKey, alg: str) -> bytes:
    """The JWS signature of ``data`` (a signing input) with ``key`` for ``alg``.

    Raises:
        ValueError: the algorithm is not supported or does not fit the key.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, utils

    if alg in ("RS256", "PS256"):
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{alg} needs an RSA private key")
        pad = _rsa_padding(alg)
        return key.sign(data, pad, hashes.SHA256())
    if alg == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("ES256 needs an EC P-256 private key")
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_ES256_PART, "big") + s.to_bytes(_ES256_PART, "big")
    if alg == "EdDSA":
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("EdDSA needs an Ed25519 private key")
        return key.sign(data)
    raise ValueError(f"unsupported JWS algorithm {alg!r}")


def _rsa_padding(alg: str) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if alg == "PS256":
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return padding.PKCS1v15()


def verify_signature(signing_input: bytes, signature: bytes, key: PublicKey, alg: str) -> bool:
    """Return True when ``signature`` over ``signing_input`` verifies with ``key``.

    A key of the wrong type for ``alg``, or an unsupported ``alg``, gives False.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, utils

    try:
        if alg in ("RS256", "PS256") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, _rsa_padding(alg), hashes.SHA256())
            return True
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 2 * _ES256_PART or key.curve.name != "secp256r1":
                return False
            r = int.from_bytes(signature[:_ES256_PART], "big")
            s = int.from_bytes(signature[_ES256_PART:], "big")
            key.verify(utils.encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signing_input)
            return True
    except InvalidSignature:
        return False
    return False


def split_compact(
    token: str, what: str = "the JWS"
) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """The header, claims, signing input and signature of a compact JWS (unverified).

    Raises:
        ProtocolError: not three non-empty parts, or a part is not base64url (JSON
            objects for the first two); the message names ``what``, never the token.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ProtocolError(f"{what} is not a compact JWS (three parts)")
    try:
        header = decode_json_part(parts[0], f"{what}'s header")
        claims = decode_json_part(parts[1], f"{what}'s payload")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        return header, claims, signing_input, b64url_decode(parts[2])
    except (ProtocolError, UnicodeEncodeError) as exc:
        raise ProtocolError(f"{what} is malformed ({exc})") from None
