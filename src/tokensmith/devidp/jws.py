"""The dev IdP's use of compact JWS: it signs its tokens RS256 with ``kid`` = ``x5t``
(reference/entra-protocol.md §1.4) and checks the JWTs it receives (client assertions,
RS256 or PS256, §4.3; its own access tokens as on-behalf-of assertions).

The signing and verification primitives are the library's own
(:mod:`tokensmith.protocol.jws`); this module only adds the header and parsing rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokensmith._jwt import b64url_decode, decode_json_part
from tokensmith.errors import ProtocolError
from tokensmith.protocol import jws

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = ["decode_header", "sign_rs256", "verify_token"]


def sign_rs256(claims: dict[str, Any], key: RSAPrivateKey, kid: str) -> str:
    """Return a compact JWS of ``claims`` signed RS256, header ``kid`` = ``x5t``."""
    return jws.sign_compact({"kid": kid, "x5t": kid}, claims, key, "RS256")


def decode_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified.

    Raises:
        ProtocolError: the token is not a three-part compact JWS with a JSON header.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ProtocolError("not a compact JWS")
    try:
        return decode_json_part(parts[0], "JWS header")
    except RecursionError:
        raise ProtocolError("JWS header nests too deeply") from None


def verify_token(token: str, public_key: RSAPublicKey) -> bool:
    """Check the RS256 or PS256 signature of ``token``; False when malformed or wrong."""
    try:
        alg = decode_header(token).get("alg")
        signing_input, _, signature = token.rpartition(".")
        raw = b64url_decode(signature)
    except ProtocolError:
        return False
    if alg not in ("RS256", "PS256"):
        return False
    return jws.verify_signature(signing_input.encode("ascii"), raw, public_key, str(alg))
