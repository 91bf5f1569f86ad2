"""Silent acquisition: the cache first, then the refresh tokens of the account.

Mirrors MSAL Python's algorithm (reference/msal-python.md §2.5-2.7) on the indexed
cache: a usable access token (five minutes or more left) is returned as is; one whose
``refresh_on`` has passed is refreshed, with the cached token as the fallback; else the
account's refresh tokens are tried, family (FOCI) first, newest first. Concurrent
callers wanting the same token share one refresh (single flight).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokensmith._redact import logger
from tokensmith.application.acquire import exchange, extra_form_fields, record
from tokensmith.application.context import AppContext, AuthorityHandle
from tokensmith.application.headers import request_headers
from tokensmith.application.results import TokenResult, cache_hit_result
from tokensmith.authority import AuthorityKind
from tokensmith.errors import MsalServiceError, TransportError
from tokensmith.protocol.refresh_token import refresh_token_form
from tokensmith.protocol.scopes import RESERVED_SCOPES, decorate_scopes

__all__ = ["USABLE_SECONDS", "SilentRequest", "silent"]

USABLE_SECONDS = 300
"""An access token with less than this left is treated as expired (MSAL's rule)."""

# MSAL telemetry refresh reasons
_FORCE, _ABSENT, _EXPIRED, _AGING = 1, 2, 3, 4


class SilentRequest:
    """The parameters of one silent call."""

    __slots__ = ("_decorated", "account", "claims", "data", "exclude", "force", "handle", "scopes")

    def __init__(
        self,
        *,
        handle: AuthorityHandle,
        account: Mapping[str, Any],
        scopes: Sequence[str],
        exclude: frozenset[str],
        force: bool,
        claims: str | None,
        data: Mapping[str, Any],
    ) -> None:
        self.handle = handle
        self.account = account
        self.scopes = scopes
        self.exclude = exclude
        self._decorated: list[str] | None = None
        self.force = force
        self.claims = claims
        self.data = data

    @property
    def decorated(self) -> list[str]:
        """The scopes plus the reserved ones, computed only when a refresh needs them
        (MSAL checks the reserved-scope rule at that point too).

        Raises:
            ValueError: a reserved scope was asked for.
        """
        if self._decorated is None:
            self._decorated = decorate_scopes(self.scopes, exclude_scopes=self.exclude)
        return self._decorated


def find_cached(ctx: AppContext, req: SilentRequest) -> tuple[dict[str, Any] | None, int]:
    """The cached access token for ``req`` and the refresh reason if it is not usable."""
    entry = ctx.cache.find_access_token(
        home_account_id=req.account.get("home_account_id"),
        environments=req.handle.environments,
        client_id=ctx.client_id,
        realm=req.handle.realm,
        scopes=req.scopes,
        now=ctx.clock(),
        key_id=req.data.get("key_id"),
    )
    if entry is None:
        return None, _ABSENT
    if int(entry["expires_on"]) - ctx.clock() < USABLE_SECONDS:
        return None, _EXPIRED
    return entry, 0


def silent(ctx: AppContext, req: SilentRequest) -> TokenResult | None:
    """Run the silent algorithm; None when the cache has nothing for the request."""
    fallback: TokenResult | None = None
    reason = _FORCE
    if not req.force:
        entry, reason = find_cached(ctx, req)
        if entry is not None:
            hit = cache_hit_result(entry, ctx.clock())
            refresh_on = hit.get("refresh_on")
            if not refresh_on or refresh_on >= ctx.clock():
                return hit
            fallback, reason = hit, _AGING
    key = (
        "silent",
        req.account.get("home_account_id"),
        req.handle.instance,
        req.handle.realm,
        frozenset(s.lower() for s in req.scopes),
        req.claims,
        req.force,
    )
    try:
        result = ctx.cache.single_flight.run(key, lambda: _refresh(ctx, req, reason, fallback))
    except (TransportError, MsalServiceError):
        # The provider is unreachable or failing: a still-valid token beats an error.
        if fallback is None:
            raise
        return TokenResult(fallback)
    if result is None:
        return None
    if "error" in result and fallback is not None:
        return TokenResult(fallback)
    return TokenResult(result)


def _refresh(
    ctx: AppContext, req: SilentRequest, reason: int, fallback: TokenResult | None
) -> TokenResult | None:
    # Another thread may have refreshed while this one waited for the flight.
    if reason in (_ABSENT, _EXPIRED) and not req.force:
        entry, _ = find_cached(ctx, req)
        if entry is not None:
            return cache_hit_result(entry, ctx.clock())
    return refresh_for_account(ctx, req, reason)


def refresh_for_account(ctx: AppContext, req: SilentRequest, reason: int) -> TokenResult | None:
    """Try the account's refresh tokens: family ones, then this app's own."""
    home = req.account.get("home_account_id")
    if not home:
        return None
    envs = req.handle.environments
    meta = ctx.cache.get_app_metadata(environment=req.handle.instance, client_id=ctx.client_id)
    last: TokenResult | None = None
    if meta is None:
        family = ctx.cache.find_refresh_tokens(
            home_account_id=home, environments=envs, family_id="1"
        )
        last = _try_rts(ctx, req, family, reason, stop_on_client_mismatch=True)
        if last is not None and "error" not in last:
            return last
    elif meta.get("family_id"):
        family = ctx.cache.find_refresh_tokens(
            home_account_id=home, environments=envs, family_id=meta["family_id"]
        )
        last = _try_rts(ctx, req, family, reason) or last
        if last is not None and "error" not in last:
            return last
    own = ctx.cache.find_refresh_tokens(
        home_account_id=home, environments=envs, client_id=ctx.client_id
    )
    return _try_rts(ctx, req, own, reason) or last


def _try_rts(
    ctx: AppContext,
    req: SilentRequest,
    rts: list[dict[str, Any]],
    reason: int,
    *,
    stop_on_client_mismatch: bool = False,
) -> TokenResult | None:
    result: TokenResult | None = None
    for rt in rts:
        result = redeem_refresh_token(ctx, req, rt, reason)
        if "error" not in result:
            return result
        logger.debug("Refresh failed: %s", result.get("error"))
        if stop_on_client_mismatch and "client_mismatch" in (
            result.get("error_additional_info") or []
        ):
            break
    return result


def refresh_scopes(req: SilentRequest, rt: Mapping[str, Any]) -> list[str]:
    """The scopes to ask for when redeeming ``rt``.

    A standards-compliant provider rejects a refresh that asks for more than the grant
    carried (RFC 6749 §6). Outside Entra, reserved scopes the refresh token was not
    granted (say ``offline_access``) are therefore not asked for again.
    """
    granted = {s.lower() for s in str(rt.get("target", "")).split()}
    if not granted or req.handle.spec.kind in _ENTRA_KINDS:
        return list(req.decorated)
    return [s for s in req.decorated if s not in RESERVED_SCOPES or s.lower() in granted]


_ENTRA_KINDS = frozenset(
    {AuthorityKind.AAD, AuthorityKind.B2C, AuthorityKind.CIAM, AuthorityKind.ADFS}
)


def redeem_refresh_token(
    ctx: AppContext, req: SilentRequest, rt: Mapping[str, Any], reason: int
) -> TokenResult:
    """Redeem one cached refresh token; cache what comes back (no new account entry)."""
    scopes = refresh_scopes(req, rt)
    response = _post_refresh(ctx, req, rt, scopes, reason)
    if response.get("error") == "invalid_scope" and len(scopes) > len(req.scopes):
        # Some providers reject reserved scopes on refresh; ask for only what was asked.
        scopes = list(req.scopes)
        response = _post_refresh(ctx, req, rt, scopes, reason)
    result = record(
        ctx,
        req.handle,
        response,
        scopes=scopes,
        grant_type="refresh_token",
        data=req.data,
        skip_account_creation=True,
    )
    new_rt = response.get("refresh_token")
    if "error" not in result and new_rt:
        ctx.cache.update_rt(dict(rt), new_rt)
    return result


def _post_refresh(
    ctx: AppContext,
    req: SilentRequest,
    rt: Mapping[str, Any],
    scopes: Sequence[str],
    reason: int,
) -> dict[str, Any]:
    home = str(rt.get("home_account_id") or "")
    headers = request_headers(
        ctx.base_headers,
        "silent",
        refresh_reason=reason,
        anchor_mailbox=f"Oid:{home.replace('.', '@')}" if home else None,
    )
    form = extra_form_fields(req.data)
    form.update(
        refresh_token_form(
            client_id=ctx.client_id, refresh_token=rt["secret"], scopes=scopes, claims=req.claims
        )
    )
    return ctx.run(exchange(ctx, req.handle, form, headers))
