"""JWS signature verification against a JSON Web Key Set (RFC 7515 §5.2, RFC 7517 §5,
RFC 7518 §6.2-§6.3; OIDC Core §3.1.3.7 step 6, §10.1.1 key selection by ``kid``).

``cryptography`` is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith._jwt import b64url_decode, decode_json_part
from tokensmith.errors import IdTokenError, ProtocolError
from tokensmith.protocol._wire import exchange, json_object
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest
from tokensmith.protocol.jws import SUPPORTED_ALGORITHMS, verify_signature

__all__ = ["fetch_jwks", "jws_key_id", "public_key_from_jwk", "verify_jws_signature"]

_KTY_FOR_ALG = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}


def _b64_int(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ValueError(f"JWK member '{name}' is missing")
    return int.from_bytes(b64url_decode(value), "big")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Any:
    """Return a ``cryptography`` public key for an RSA or EC P-256 JWK.

    Raises:
        ValueError: unsupported ``kty``/``crv`` or malformed members.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            return rsa.RSAPublicNumbers(_b64_int(jwk, "e"), _b64_int(jwk, "n")).public_key()
        if kty == "EC" and jwk.get("crv") == "P-256":
            numbers = ec.EllipticCurvePublicNumbers(
                _b64_int(jwk, "x"), _b64_int(jwk, "y"), ec.SECP256R1()
            )
            return numbers.public_key()
    except ProtocolError as exc:
        raise ValueError("JWK member is not base64url") from exc
    raise ValueError(f"unsupported JWK (kty={kty!r}, crv={jwk.get('crv')!r})")


def _candidates(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise IdTokenError("the JWKS has no 'keys' list")
    alg = header["alg"]
    kid = header.get("kid")
    usable = [
        k
        for k in keys
        if isinstance(k, Mapping)
        and k.get("kty") == _KTY_FOR_ALG[alg]
        and k.get("use", "sig") == "sig"
        and k.get("alg", alg) == alg
    ]
    if kid is not None:
        usable = [k for k in usable if k.get("kid") == kid]
        if not usable:
            raise IdTokenError(f"no {alg} key with kid {kid!r} in the JWKS")
    elif not usable:
        raise IdTokenError(f"no {alg} key in the JWKS")
    return usable


def verify_jws_signature(token: str, jwks: Mapping[str, Any]) -> None:
    """Verify the signature of compact JWS ``token`` with a key from ``jwks``.

    The key is chosen by the header's ``kid`` (or, without ``kid``, any key of the
    right type). Only ``RS256``, ``PS256`` and ``ES256`` are accepted; ``none`` and
    HMAC algorithms are refused.

    Raises:
        IdTokenError: malformed token, unsupported ``alg``, unknown ``kid``, or a
            signature that does not verify.
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise IdTokenError("the token is not a compact JWS (expected 3 parts)")
    try:
        header = decode_json_part(parts[0], "JWS header")
        signature = b64url_decode(parts[2])
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    except (ProtocolError, UnicodeEncodeError) as exc:
        raise IdTokenError("the token is not a base64url compact JWS") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        raise IdTokenError(f"unsupported JWS algorithm {alg!r}")
    for jwk in _candidates(header, jwks):
        try:
            key = public_key_from_jwk(jwk)
        except ValueError:
            continue
        if verify_signature(signing_input, signature, key, alg):
            return
    raise IdTokenError("the token signature does not verify with the JWKS")


def jws_key_id(token: str) -> str | None:
    """The ``kid`` of a compact JWS header, or None (also for a malformed token)."""
    try:
        kid = decode_json_part(token.split(".")[0], "JWS header").get("kid")
    except (ProtocolError, AttributeError):
        return None
    return kid if isinstance(kid, str) else None


def fetch_jwks(jwks_uri: str, *, headers: Mapping[str, str] | None = None) -> Flow[dict[str, Any]]:
    """GET the provider's key set (OIDC Discovery §3 ``jwks_uri``, RFC 7517 §5).

    Raises:
        IdTokenError: the answer is not HTTP 200 with a JSON object holding ``keys``.
    """
    request = HttpRequest("GET", jwks_uri, headers=dict(headers or {"Accept": "application/json"}))
    response = yield from exchange(request)
    if response.status_code != 200:
        raise IdTokenError(f"the provider's JWKS answered HTTP {response.status_code}")
    document, reason = json_object(response.text)
    if document is None or not isinstance(document.get("keys"), list):
        raise IdTokenError(f"the provider's JWKS is unusable: {reason or 'no keys list'}")
    return document
