"""Checking the id_token an authorization code brought back (OIDC Core §3.1.3.7).

The code grant is the one flow where a browser carried part of the exchange, so the
id_token is checked before anything is cached: issuer (Entra's ``{tenantid}`` template
filled from ``tid``), audience, ``exp``/``nbf`` with clock skew, the request's nonce,
``auth_time`` against ``max_age``, and, when the caller asks for it, the signature
against the provider's JWKS (fetched once per application and key id).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.errors import IdTokenError
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.oidc.id_token import decode_id_token, validate_id_token_claims
from tokensmith.protocol.oidc.jwks import fetch_jwks, jws_key_id, verify_jws_signature

__all__ = ["REFETCH_INTERVAL", "IdTokenExpectations", "JwksMemo", "check_id_token"]


@dataclass(frozen=True)
class IdTokenExpectations:
    """What the id_token of one code redemption must satisfy.

    Attributes:
        nonce: the value sent as ``nonce`` (MSAL sends the SHA-256 hex of the flow's
            secret nonce); None skips the nonce check.
        max_age: the ``max_age`` sent, if any (``auth_time`` is then required).
        verify_signature: also verify the signature against the provider's JWKS.
        require_id_token: ``openid`` was requested, so the response must carry an
            id_token (OIDC Core §3.1.3.3); without it the nonce would go unchecked.
    """

    nonce: str | None = field(default=None, repr=False)
    max_age: int | None = None
    verify_signature: bool = False
    require_id_token: bool = False


REFETCH_INTERVAL = 300.0
"""Seconds between two fetches of one key set for an unknown ``kid``."""


class JwksMemo:
    """The key sets of one application, by ``jwks_uri``; refetched for an unknown
    ``kid`` (key rotation), at most once per :data:`REFETCH_INTERVAL`, so that tokens
    naming made-up key ids cannot turn every check into a request to the provider."""

    def __init__(self) -> None:
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def keys_for(self, ctx: AppContext, jwks_uri: str, kid: str | None) -> Flow[dict[str, Any]]:
        """The key set of ``jwks_uri``, fetched when absent or when it lacks ``kid``
        and was fetched more than :data:`REFETCH_INTERVAL` seconds ago."""
        with self._lock:
            fetched_at, known = self._sets.get(jwks_uri, (0.0, None))
        if known is not None:
            if kid is None or _has_kid(known, kid):
                return known
            if ctx.clock() - fetched_at < REFETCH_INTERVAL:
                return known  # the signature check then reports the unknown kid
        fresh = yield from fetch_jwks(jwks_uri)
        with self._lock:
            self._sets[jwks_uri] = (ctx.clock(), fresh)
        return fresh


def _has_kid(jwks: Mapping[str, Any], kid: str) -> bool:
    return any(isinstance(k, Mapping) and k.get("kid") == kid for k in jwks.get("keys", []))


def check_id_token(
    ctx: AppContext,
    handle: AuthorityHandle,
    response: Mapping[str, Any],
    expected: IdTokenExpectations,
) -> Flow[None]:
    """Check ``response["id_token"]`` when there is one; return quietly if it passes.

    Raises:
        IdTokenError: a claim or the signature failed; the message names the check,
            never the token.
    """
    token = response.get("id_token")
    if not token:
        if expected.require_id_token:
            raise IdTokenError("openid was requested but the token response has no id_token")
        return
    metadata = yield from metadata_of(handle)
    claims = decode_id_token(token)
    validate_id_token_claims(
        claims,
        issuer=metadata.issuer,
        client_id=ctx.client_id,
        now=ctx.clock(),
        nonce=expected.nonce,
        max_age=expected.max_age,
    )
    if expected.verify_signature:
        jwks_uri = metadata.jwks_uri
        if not jwks_uri:
            raise IdTokenError("the authority advertises no jwks_uri to verify the id_token")
        memo: JwksMemo = ctx.memo("jwks", JwksMemo)
        keys = yield from memo.keys_for(ctx, jwks_uri, jws_key_id(token))
        verify_jws_signature(token, keys)
