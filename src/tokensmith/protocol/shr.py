"""Entra's proof-of-possession tokens: the Signed HTTP Request (SHR), both sides.

Basis: draft-ietf-oauth-signed-http-request-03 as Microsoft profiles it ("AT PoP"),
RFC 7800 (``cnf``), RFC 7638 (the key id). The token request carries
``token_type=pop`` and ``req_cnf`` = base64url(``{"kid": <thumbprint>}``)
(:func:`pop_request_fields`); the access token that comes back is bound to that key
(``cnf.kid``). For each call to the resource the client signs an SHR
(:func:`sign_http_request`): a JWS with header ``typ`` ``pop``, ``alg``, ``kid`` and
claims ``at`` (the access token), ``ts``, ``m``, ``u`` (host, with the port when not
the default), ``p`` (path), ``nonce`` and ``cnf.jwk`` (the public key), sent as
``Authorization: PoP <SHR>``. :func:`validate_http_request` is the resource side, in
the order of Microsoft's validator. Nothing here does I/O; the broker reuses the
builder.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tokensmith._jwt import b64url_encode, decode_json_part
from tokensmith.errors import ProtocolError
from tokensmith.protocol.dpop import ALGORITHMS, DPoPKey
from tokensmith.protocol.jwk import public_key_from_jwk, thumbprint
from tokensmith.protocol.jws import split_compact, verify_signature

__all__ = [
    "ShrError",
    "ValidatedRequest",
    "pop_request_fields",
    "req_cnf",
    "sign_http_request",
    "validate_http_request",
]

SHR_TYPE = "pop"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_SHR = 16384


def req_cnf(key: DPoPKey) -> str:
    """``req_cnf`` for ``key``: base64url(``{"kid": <RFC 7638 thumbprint>}``)."""
    return b64url_encode(json.dumps({"kid": key.jkt}, separators=(",", ":")).encode("ascii"))


def pop_request_fields(key: DPoPKey) -> dict[str, str]:
    """The token request's extra fields for a PoP token bound to ``key``."""
    return {"token_type": "pop", "req_cnf": req_cnf(key)}


def _host_and_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("a PoP target must be an absolute http(s) URL")
    host = parts.hostname
    if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    return host, parts.path or "/"


def sign_http_request(
    key: DPoPKey,
    access_token: str,
    *,
    method: str,
    url: str,
    nonce: str | None,
    now: float,
) -> str:
    """The SHR for one request to ``url`` with ``access_token`` (a fresh signature).

    Args:
        key: the key the access token is bound to.
        access_token: the PoP access token from the token endpoint.
        method: the HTTP method, upper case.
        url: the request URL (its query is not signed, as MSAL does).
        nonce: the resource's nonce; a random one when None.
        now: epoch seconds (``ts``).

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL.
    """
    host, path = _host_and_path(url)
    header = {"typ": SHR_TYPE, "alg": key.alg, "kid": key.jkt}
    claims = {
        "at": access_token,
        "ts": int(now),
        "m": method.upper(),
        "u": host,
        "p": path,
        "nonce": nonce if nonce is not None else secrets.token_urlsafe(16),
        "cnf": {"jwk": key.jwk},
    }
    head = b64url_encode(json.dumps(header, separators=(",", ":")).encode("ascii"))
    body = b64url_encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    signing_input = f"{head}.{body}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode('ascii')))}"


class ShrError(ProtocolError):
    """A signed HTTP request that a resource must refuse (the message names the check;
    it never quotes the request or the token)."""


@dataclass(frozen=True, slots=True)
class ValidatedRequest:
    """A signed HTTP request that passed every check.

    Attributes:
        access_token: the inner access token (validate it as a JWT: issuer,
            audience, lifetime, signature; this module checks only its binding).
        access_token_claims: its claims, decoded without verifying its signature.
        kid: the key's thumbprint (the token's ``cnf.kid``).
        nonce: the request's ``nonce``, for the application's replay policy.
    """

    access_token: str
    access_token_claims: dict[str, Any]
    kid: str
    nonce: str | None


def validate_http_request(
    shr: str,
    *,
    method: str,
    url: str,
    now: float,
    max_age: float = 300,
    leeway: float = 60,
) -> ValidatedRequest:
    """Check an SHR as Microsoft's validator does (reference §3.4 steps 2-4).

    The key comes from the SHR's ``cnf.jwk`` and must have the thumbprint of the
    access token's ``cnf.kid``; the signature must verify with it; ``ts`` must be at
    most ``max_age`` old (and at most ``leeway`` ahead); ``m`` must equal the method;
    ``u`` the host (with the port when not the default; without case); ``p`` the
    path (slashes at the ends trimmed).

    Raises:
        ShrError: the first check that failed.
    """
    header, claims, signing_input, signature = _parse(shr)
    token = claims.get("at")
    if not isinstance(token, str) or not token:
        raise ShrError("the signed request has no access token (at)")
    try:
        token_claims = decode_json_part(token.split(".")[1], "the access token")
    except (ProtocolError, IndexError):
        raise ShrError("the access token is not a JWT") from None
    cnf = token_claims.get("cnf")
    kid = cnf.get("kid") if isinstance(cnf, dict) else None
    if not isinstance(kid, str):
        raise ShrError("the access token is not bound to a key (no cnf.kid)")
    shr_cnf = claims.get("cnf")
    jwk = shr_cnf.get("jwk") if isinstance(shr_cnf, dict) else None
    if not isinstance(jwk, dict):
        raise ShrError("the signed request carries no key (cnf.jwk)")
    try:
        if thumbprint(jwk) != kid:
            raise ShrError("the request's key is not the one the access token is bound to")
        key = public_key_from_jwk(jwk)
    except ShrError:
        raise
    except ProtocolError as exc:
        raise ShrError(f"the request's key is not usable ({exc})") from None
    alg = header.get("alg")
    if header.get("typ") != SHR_TYPE or not isinstance(alg, str) or alg not in ALGORITHMS:
        raise ShrError("the signed request's typ or alg is not acceptable")
    if not verify_signature(signing_input, signature, key, alg):
        raise ShrError("the signed request's signature does not verify")
    _check_request(claims, method=method, url=url, now=now, max_age=max_age, leeway=leeway)
    nonce = claims.get("nonce")
    return ValidatedRequest(token, token_claims, kid, nonce if isinstance(nonce, str) else None)


def _parse(shr: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    if not isinstance(shr, str) or len(shr) > _MAX_SHR:
        raise ShrError("the signed request is not a string of reasonable length")
    try:
        return split_compact(shr, "the signed request")
    except ProtocolError as exc:
        raise ShrError(str(exc)) from None


def _check_request(
    claims: dict[str, Any], *, method: str, url: str, now: float, max_age: float, leeway: float
) -> None:
    ts = claims.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise ShrError("the signed request's ts is not a number")
    if ts < now - max_age or ts > now + leeway:
        raise ShrError("the signed request's ts is outside the accepted window")
    if claims.get("m") != method.upper():
        raise ShrError("the signed request's method (m) does not match")
    host, path = _host_and_path(url)
    u, p = claims.get("u"), claims.get("p")
    if not isinstance(u, str) or u.lower() != host.lower():
        raise ShrError("the signed request's host (u) does not match")
    if not isinstance(p, str) or p.strip("/") != path.strip("/"):
        raise ShrError("the signed request's path (p) does not match")
