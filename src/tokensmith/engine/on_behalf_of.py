"""On-behalf-of (RFC 7523 §2.1 with Entra's ``requested_token_use``) through the one
cache-first path: tokens are cached per user assertion (its SHA-256), and refreshed
with the refresh token obtained for that assertion before a new exchange.

MSAL Python always goes to the network here; serving from the cache (with
``refresh_on`` and single flight, like every other cache-first acquisition) is on
purpose (docs/compatibility.md).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.engine.cache_first import cache_first
from tokensmith.engine.context import AppContext, AuthorityHandle
from tokensmith.engine.dpop import bound_key_id
from tokensmith.engine.keywords import check_keywords, request_data, wire_claims
from tokensmith.engine.results import TokenResult
from tokensmith.engine.silent import scope_list
from tokensmith.engine.token_call import assertion_hash, obtain
from tokensmith.entra import headers as api
from tokensmith.errors import ConfigurationError
from tokensmith.protocol import on_behalf_of, refresh_token
from tokensmith.protocol.effects import Flow

__all__ = ["acquire_token_on_behalf_of"]


_ACCEPTED = frozenset({"data", "authority"})
"""The keywords of ``acquire_token_on_behalf_of`` beyond its named parameters."""


def acquire_token_on_behalf_of(
    ctx: AppContext,
    user_assertion: Any,
    scopes: Any,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
    *,
    forwarded_client_claims: object = None,
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_on_behalf_of`` (arguments checked now). Tokens
    obtained with ``forwarded_client_claims`` are cached under their extended key.

    Raises:
        ValueError: an empty assertion, bad scopes or authority, forwarded claims that
            are not a JSON object string.
        TypeError: a keyword this method does not take.
    """
    check_keywords("acquire_token_on_behalf_of", kwargs, _ACCEPTED)
    if not user_assertion or not isinstance(user_assertion, str):
        raise ConfigurationError("user_assertion must be a non-empty string")
    handle = ctx.handle(kwargs.get("authority"))
    request = _Obo(
        ctx,
        handle=handle,
        assertion=user_assertion,
        scopes=scope_list(scopes),
        decorated=ctx.decorate(scopes),
        data=request_data(kwargs.get("data"), forwarded_client_claims=forwarded_client_claims),
        claims_challenge=claims_challenge,
    )
    force = bool(claims_challenge)
    return cache_first(ctx, request, force=force)  # type: ignore[return-value]


class _Obo:
    """The cache-first request of an on-behalf-of token (see :mod:`..cache_first`)."""

    __slots__ = (
        "assertion",
        "claims_challenge",
        "ctx",
        "data",
        "decorated",
        "digest",
        "ext_key",
        "handle",
        "scopes",
    )

    def __init__(
        self,
        ctx: AppContext,
        *,
        handle: AuthorityHandle,
        assertion: str,
        scopes: list[str],
        decorated: list[str],
        data: dict[str, str],
        claims_challenge: str | None,
    ) -> None:
        self.handle = handle
        self.assertion = assertion
        self.digest = assertion_hash(assertion)
        self.scopes = scopes
        self.decorated = decorated
        self.data = data
        self.ext_key = compute_ext_cache_key(data) or None
        self.claims_challenge = claims_challenge
        self.ctx = ctx

    def lookup(self, realm: str, now: float) -> dict[str, Any] | None:
        return self.ctx.cache.find_access_token(
            home_account_id=None,
            environments=self.handle.environments,
            client_id=self.ctx.client_id,
            realm=realm,
            scopes=self.scopes,
            now=now,
            user_assertion_hash=self.digest,
            ext_cache_key=self.ext_key,
            key_id=bound_key_id(self.ctx, None) if self.ctx.dpop else None,
        )

    def flight_key(self, realm: str) -> Hashable:
        return (
            "obo",
            self.ctx.client_id,
            self.digest,
            self.handle.instance,
            realm,
            frozenset(s.lower() for s in self.scopes),
            self.ext_key,
            self.claims_challenge,
        )

    def fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        return _fetch(self.ctx, self, reason)


def _fetch(ctx: AppContext, req: _Obo, reason: int) -> Flow[TokenResult | None]:
    """The refresh token of this assertion first (not under a claims challenge), then
    the exchange itself."""
    if not req.claims_challenge:
        rt = ctx.cache.find_obo_refresh_token(
            user_assertion_hash=req.digest,
            environments=req.handle.environments,
            client_id=ctx.client_id,
        )
        if rt is not None:
            form = refresh_token.refresh_token_form(
                client_id=ctx.client_id,
                refresh_token=rt["secret"],
                scopes=req.decorated,
                claims=wire_claims(ctx, None, req.data),
            )
            refreshed = yield from _exchange(ctx, req, form, refresh_token.GRANT_TYPE, reason)
            if "error" not in refreshed:
                new_rt = refreshed.get("refresh_token")
                if new_rt:  # the redeemed entry is updated, as a silent refresh does
                    ctx.cache.update_rt(dict(rt), new_rt)
                return refreshed
    form = on_behalf_of.on_behalf_of_form(
        client_id=ctx.client_id,
        assertion=req.assertion,
        scopes=req.decorated,
        claims=wire_claims(ctx, req.claims_challenge, req.data),
    )
    return (yield from _exchange(ctx, req, form, on_behalf_of.GRANT_TYPE, reason))


def _exchange(
    ctx: AppContext, req: _Obo, form: dict[str, str], grant_type: str, reason: int
) -> Flow[TokenResult]:
    extra: dict[str, Any] = {"user_assertion_hash": req.digest}
    if grant_type == refresh_token.GRANT_TYPE:
        extra["skip_account_creation"] = True
        extra["save_refresh_token"] = False  # _fetch updates the redeemed entry
    return obtain(
        ctx,
        req.handle,
        form,
        api=api.ACQUIRE_TOKEN_ON_BEHALF_OF,
        scopes=req.decorated,
        grant_type=grant_type,
        data=req.data,
        refresh_reason=reason,
        **extra,
    )
