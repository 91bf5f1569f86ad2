"""Public JSON Web Keys (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) and their RFC 7638
thumbprints, for the keys DPoP proofs and PoP requests are signed with.

Only public keys cross this module: :func:`public_jwk` exports the public half of a
private or public key; :func:`public_key_from_jwk` refuses a JWK that carries private
members. Supported: RSA (``kty`` ``RSA``), EC P-256 (``kty`` ``EC``, ``crv`` ``P-256``)
and Ed25519 (``kty`` ``OKP``, ``crv`` ``Ed25519``). ``cryptography`` is imported inside
the functions that need it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokensmith._jwt import b64url_decode, b64url_encode
from tokensmith.errors import ProtocolError

if TYPE_CHECKING:
    from tokensmith.protocol.jws import PrivateKey, PublicKey

__all__ = ["REQUIRED_MEMBERS", "public_jwk", "public_key_from_jwk", "thumbprint"]

REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
"""The members a thumbprint hashes, per key type, in lexicographic order (RFC 7638
§3.2, RFC 8037 §2)."""

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_EC_COORDINATE = 32  # bytes of x and of y on P-256


def _uint(value: int) -> str:
    """Base64url of an unsigned big-endian integer, minimal length (RFC 7518 §2)."""
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def public_jwk(key: PrivateKey | PublicKey) -> dict[str, str]:
    """The public JWK of ``key`` (only the required members; no ``kid``, no ``alg``).

    Raises:
        ValueError: the key is not RSA, EC P-256 or Ed25519.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    public = key.public_key() if hasattr(key, "public_key") else key
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.name != "secp256r1":
            raise ValueError("only EC keys on P-256 are supported")
        point = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(point.x.to_bytes(_EC_COORDINATE, "big")),
            "y": b64url_encode(point.y.to_bytes(_EC_COORDINATE, "big")),
        }
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    raise ValueError("the key must be RSA, EC P-256 or Ed25519")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``, base64url without padding.

    Only the required members of the key type are hashed, so ``kid``, ``alg`` or
    ``use`` never change it.

    Raises:
        ProtocolError: the key type is not RSA, EC or OKP, or a required member is
            missing or not a string.
    """
    kty = jwk.get("kty")
    members = REQUIRED_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ProtocolError("the JWK's 'kty' is not RSA, EC or OKP")
    canonical: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str) or not value:
            raise ProtocolError(f"the JWK has no string {name!r}")
        canonical[name] = value
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(text.encode("utf-8")).digest())


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key a JWK describes (for checking a signature made with it).

    Raises:
        ProtocolError: private members are present, the key type or curve is not
            supported, or a member is malformed. The message names the problem.
    """
    private = _PRIVATE_MEMBERS.intersection(jwk)
    if private:
        raise ProtocolError("the JWK carries private key members")
    thumbprint(jwk)  # the required members are present and strings
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    kty = jwk["kty"]
    try:
        if kty == "RSA":
            n = int.from_bytes(b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(b64url_decode(jwk["e"]), "big")
            if n.bit_length() < 2048:
                raise ProtocolError("the RSA key is shorter than 2048 bits")
            return rsa.RSAPublicNumbers(e, n).public_key()
        if kty == "EC":
            if jwk["crv"] != "P-256":
                raise ProtocolError("only EC keys on P-256 are supported")
            x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
            if len(x) != _EC_COORDINATE or len(y) != _EC_COORDINATE:
                raise ProtocolError("the EC coordinates are not 32 bytes each")
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            )
            return numbers.public_key()
        if jwk["crv"] != "Ed25519":
            raise ProtocolError("only OKP keys on Ed25519 are supported")
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    except ValueError as exc:  # not on the curve, bad length, e even...
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError("the JWK does not describe a valid public key") from exc
