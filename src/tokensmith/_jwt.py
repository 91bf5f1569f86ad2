"""Base64url and unverified JWT decoding (RFC 7515 §2, RFC 7519 §7.2 steps 1-7).

Shared by the cache (which reads id_token claims to build accounts) and the protocol
core. Signature verification lives in :mod:`tokensmith.protocol.oidc` and needs
``cryptography``; nothing here does.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from tokensmith.errors import ProtocolError

__all__ = ["b64url_decode", "b64url_encode", "decode_json_part", "decode_jwt_claims"]


# binascii, not base64 (which is these two calls and a translation table over it, but
# whose import, with struct's, costs every process that reads a cache): RFC 4648 §5.
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE)
    return encoded.rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url, with or without padding.

    Raises:
        ProtocolError: the text is not base64url.
    """
    try:
        raw = text.encode("ascii")
        return binascii.a2b_base64((raw + b"=" * (-len(raw) % 4)).translate(_FROM_URLSAFE))
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise ProtocolError("value is not base64url-encoded") from exc


def _no_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (RFC 8259 §6); a NaN ``exp`` would pass
    every comparison, so tokens carrying them are refused."""
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def decode_json_part(text: str, what: str = "value") -> dict[str, Any]:
    """Decode a base64url-encoded JSON object (a JWT part, or Entra's client_info).

    Raises:
        ProtocolError: not base64url, not UTF-8 JSON, or not a JSON object.
    """
    try:
        value = _DECODER.decode(b64url_decode(text).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nesting too deep
        raise ProtocolError(f"{what} is not base64url-encoded JSON") from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return value


def decode_jwt_claims(token: str, what: str = "id_token") -> dict[str, Any]:
    """Return the claims of a compact JWS without verifying its signature.

    Raises:
        ProtocolError: the token does not have three parts or its payload is not a
            base64url JSON object. The message never contains the token.
    """
    if not isinstance(token, str):
        raise ProtocolError(f"{what} is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise ProtocolError(f"{what} is not a compact JWT (expected 3 parts, got {len(parts)})")
    return decode_json_part(parts[1], what)
