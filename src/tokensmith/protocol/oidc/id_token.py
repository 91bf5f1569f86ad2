"""ID token claims (OIDC Core §2) and their validation (OIDC Core §3.1.3.7 steps 2-3, 9-13).

:func:`decode_id_token` reads the claims without checking the signature (the token came
straight from the token endpoint over TLS, OIDC Core §3.1.3.7 step 6);
:func:`validate_id_token_claims` checks issuer, audience, times, nonce and
``auth_time``. Signature checks are in :mod:`tokensmith.protocol.oidc.jwks`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tokensmith._guid import is_guid
from tokensmith._jwt import decode_jwt_claims
from tokensmith.errors import IdTokenError, ProtocolError

__all__ = [
    "DEFAULT_SKEW",
    "TENANT_TEMPLATE",
    "check_claim_types",
    "decode_id_token",
    "validate_id_token_claims",
]

DEFAULT_SKEW = 300
TENANT_TEMPLATE = "{tenantid}"
"""Placeholder in Entra's multi-tenant issuer, replaced by the token's ``tid``."""


def decode_id_token(token: str) -> dict[str, Any]:
    """Return the claims of ``token`` without verifying its signature.

    Raises:
        IdTokenError: the token is not a compact JWT with a JSON object payload, or a
            claim has the wrong type (see :func:`check_claim_types`).
    """
    try:
        claims = decode_jwt_claims(token, "id_token")
    except ProtocolError as exc:
        raise IdTokenError(str(exc)) from exc
    check_claim_types(claims)
    return claims


_STRING_CLAIMS = ("iss", "sub", "oid", "tid", "preferred_username", "upn", "nonce", "azp")
_NUMBER_CLAIMS = ("exp", "iat", "nbf", "auth_time")


def check_claim_types(claims: Mapping[str, Any]) -> None:
    """The claims tokensmith reads have the types OIDC Core §2 gives them: identifiers
    and names are strings, times are finite numbers (absent ones are not checked).

    Raises:
        IdTokenError: the first claim of the wrong type, by name.
    """
    for name in _STRING_CLAIMS:
        value = claims.get(name)
        if value is not None and not isinstance(value, str):
            raise IdTokenError(f"id_token claim '{name}' is not a string")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise IdTokenError(f"id_token claim '{name}' is not valid Unicode") from None
    for name in _NUMBER_CLAIMS:
        _number(claims, name, required=False)


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise IdTokenError(f"id_token has no '{name}' claim")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise IdTokenError(f"id_token claim '{name}' is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer past the float range (10**400)
        raise IdTokenError(f"id_token claim '{name}' is not a finite number") from None
    if not math.isfinite(number):  # JSON parsers accept NaN/Infinity: NaN compares False
        raise IdTokenError(f"id_token claim '{name}' is not a finite number")
    return number


def _check_issuer(claims: Mapping[str, Any], issuer: str) -> None:
    expected = issuer
    if TENANT_TEMPLATE in issuer:
        tid = claims.get("tid")
        if not isinstance(tid, str) or not tid:
            raise IdTokenError("id_token has no 'tid' to fill the issuer template")
        if not is_guid(tid):  # so no token writes its own issuer (tid = evil.example/x)
            raise IdTokenError("id_token 'tid' is not a tenant id (GUID): issuer not trusted")
        expected = issuer.replace(TENANT_TEMPLATE, tid)
    actual = claims.get("iss")
    if not isinstance(actual, str) or actual.rstrip("/") != expected.rstrip("/"):
        raise IdTokenError(f"id_token issuer {actual!r} is not the expected {expected!r}")


def _check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if (
        not isinstance(audiences, list)
        or not all(isinstance(a, str) for a in audiences)
        or client_id not in audiences
    ):
        raise IdTokenError(f"id_token audience {aud!r} does not include client {client_id!r}")
    azp = claims.get("azp")
    if azp is None and len(audiences) > 1:  # OIDC Core 3.1.3.7 step 4
        raise IdTokenError("id_token has several audiences but no azp claim")
    if azp is not None and azp != client_id:  # step 5: whenever azp is present
        raise IdTokenError(f"id_token azp {azp!r} is not client {client_id!r}")


def validate_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str | None,
    client_id: str,
    now: float,
    nonce: str | None = None,
    max_age: int | None = None,
    skew: float = DEFAULT_SKEW,
) -> None:
    """Check decoded id token claims; return quietly when they are acceptable.

    Args:
        claims: the decoded payload.
        issuer: the expected ``iss`` (Entra's ``{tenantid}`` template, when the
            discovered issuer has it, is filled with the token's ``tid``, which must
            be a GUID; a trailing ``/`` is ignored); None skips the check.
        client_id: must be (in) ``aud``; ``azp``, when present, must be the client,
            and with several audiences it must be present.
        now: epoch seconds.
        nonce: the value sent in the request (MSAL: the SHA-256 hex); None skips.
        max_age: if set, ``auth_time`` is required and must be within it.
        skew: tolerated clock difference in seconds.

    Raises:
        IdTokenError: a check failed; the message names the claim, never a secret.
    """
    if issuer is not None:
        _check_issuer(claims, issuer)
    _check_audience(claims, client_id)
    exp = _number(claims, "exp", required=True)
    if exp is not None and now > exp + skew:
        raise IdTokenError("id_token has expired")
    nbf = _number(claims, "nbf", required=False)
    if nbf is not None and now + skew < nbf:
        raise IdTokenError("id_token is not valid yet (nbf is in the future)")
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdTokenError("id_token nonce does not match the one sent in the request")
    if max_age is not None:
        auth_time = _number(claims, "auth_time", required=True)
        if auth_time is not None and now > auth_time + max_age + skew:
            raise IdTokenError(
                f"id_token auth_time is older than max_age ({max_age} s): sign in again"
            )
