"""Silent acquisition: the cache first, then the refresh tokens of the account.

MSAL Python's algorithm (reference/msal-python.md §2.5-2.7) on the indexed cache,
through the one cache-first path (:mod:`~tokensmith.engine.cache_first`). A token
request redeems the account's refresh tokens: family (FOCI) ones first when the app
is or may be in the family, then the app's own, newest first.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokensmith._lazy import lazy_module
from tokensmith._redact import logger
from tokensmith.authority import AuthorityKind
from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.engine.accounts import checked_account
from tokensmith.engine.cache_first import cache_first
from tokensmith.engine.context import AppContext, AuthorityHandle
from tokensmith.engine.dpop import bound_key_id
from tokensmith.engine.keywords import check_ssh_cert, request_data, wire_claims
from tokensmith.engine.results import TokenResult
from tokensmith.entra import headers as api
from tokensmith.entra.classification import classify
from tokensmith.entra.headers import anchor_for_home_account
from tokensmith.entra.tenants import FAMILY_ID, is_client_mismatch
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import Done, Flow
from tokensmith.protocol.scopes import RESERVED_SCOPES, decorate_scopes

if TYPE_CHECKING:
    from tokensmith.engine import token_call
    from tokensmith.protocol import refresh_token
else:  # a cache hit needs neither: the first refresh loads them (tokensmith._lazy)
    token_call = lazy_module("tokensmith.engine.token_call")
    refresh_token = lazy_module("tokensmith.protocol.refresh_token")

__all__ = ["SilentRequest", "acquire_token_silent", "scope_list", "without_error"]

_ENTRA_KINDS = frozenset(
    {AuthorityKind.AAD, AuthorityKind.B2C, AuthorityKind.CIAM, AuthorityKind.ADFS}
)


def scope_list(scopes: Any) -> list[str]:
    """MSAL's check of a ``scopes`` argument.

    Raises:
        ValueError: not a list, tuple or set.
    """
    if not isinstance(scopes, (list, set, tuple)):
        raise ConfigurationError("The input scopes should be a list, tuple, or set")
    return [str(s) for s in scopes]


class SilentRequest:
    """The cache-first request of one silent call (see :mod:`..cache_first`)."""

    __slots__ = (
        "_decorated",
        "account",
        "claims",
        "ctx",
        "data",
        "exclude",
        "ext_key",
        "force",
        "handle",
        "removal",
        "scopes",
    )

    def __init__(
        self,
        ctx: AppContext,
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
        self.ext_key = (compute_ext_cache_key(data) or None) if data else None
        self.ctx = ctx
        self.removal: tuple[str, int] | None = None

    def lookup(self, realm: str, now: float) -> dict[str, Any] | None:
        return self.ctx.cache.find_access_token(
            home_account_id=self.account.get("home_account_id"),
            environments=self.handle.environments,
            client_id=self.ctx.client_id,
            realm=realm,
            scopes=self.scopes,
            now=now,
            ext_cache_key=self.ext_key,
            key_id=bound_key_id(self.ctx, self.data) if self.data or self.ctx.dpop else None,
        )

    def flight_key(self, realm: str) -> Hashable:
        return (
            "silent",
            self.ctx.client_id,
            self.account.get("home_account_id"),
            self.handle.instance,
            realm,
            frozenset(s.lower() for s in self.scopes),
            self.claims,
            self.force,
            self.data.get("key_id") if self.data else None,
            self.ext_key,
        )

    def fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        home = self.account.get("home_account_id")
        if not home:
            return _nothing()
        return _held_refresh(self.ctx, self, home, reason)

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


def acquire_token_silent(
    ctx: AppContext,
    scopes: Any,
    account: Mapping[str, Any] | None,
    authority: Any,
    force_refresh: bool,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult | None]:
    """The flow of ``acquire_token_silent_with_error`` (arguments checked now).

    ``forwarded_client_claims`` (a keyword, as MSAL takes it) key the cached token
    (its extended key) and go out merged into ``claims`` on a refresh.

    Raises:
        ValueError: bad scopes, authority, ``account`` (not an account dict),
            ``auth_scheme`` (PoP needs a broker) or forwarded claims.
    """
    if kwargs and kwargs.get("auth_scheme") is not None:  # (no keywords: the usual call)
        raise ConfigurationError("auth_scheme (PoP) needs a broker, which is not enabled")
    account = checked_account(account)
    if not account:
        return _nothing()
    data: dict[str, str] = {}
    if kwargs:
        extra, forwarded = kwargs.get("data"), kwargs.get("forwarded_client_claims")
        if extra or forwarded is not None:
            data = request_data(extra, forwarded_client_claims=forwarded)
            check_ssh_cert(data)
    req = SilentRequest(  # (positional: keywords to a class cost a dict per call)
        ctx,
        ctx.handle(authority),
        account,
        scope_list(scopes),
        ctx.exclude_scopes,
        bool(force_refresh) or bool(claims_challenge),
        wire_claims(ctx, claims_challenge, data),
        data,
    )
    return cache_first(ctx, req, force=req.force)


def without_error(result: TokenResult | None) -> TokenResult | None:
    """``acquire_token_silent``'s answer: the result, or None for an error."""
    return result if result and "error" not in result else None


def _nothing() -> Flow[TokenResult | None]:
    return Done(None)


def _held_refresh(
    ctx: AppContext, req: SilentRequest, home: str, reason: int
) -> Flow[TokenResult | None]:
    # The account's entries stay in memory until the write-back (a bounded persistent
    # cache would otherwise evict them, and with them what it knew of the store).
    with ctx.cache.holding_account(home):
        # captured before the refresh is sent: one that finishes after a sign-out of
        # the account must not write its tokens back
        req.removal = (home, ctx.cache.removal_generation(home))
        return (yield from _refresh_for_account(ctx, req, home, reason))


def _refresh_for_account(
    ctx: AppContext, req: SilentRequest, home: str, reason: int
) -> Flow[TokenResult | None]:
    """Try the account's refresh tokens: family ones, then this app's own."""
    envs = req.handle.environments
    cache = ctx.cache
    meta = cache.get_app_metadata(environment=req.handle.instance, client_id=ctx.client_id)
    last: TokenResult | None = None
    family_id = FAMILY_ID if meta is None else meta.get("family_id")
    if family_id:
        family = cache.find_refresh_tokens(
            home_account_id=home, environments=envs, family_id=family_id
        )
        # An app not known to be in the family stops at the first client_mismatch.
        last = yield from _try_rts(ctx, req, family, reason, stop_on_mismatch=meta is None)
        if last is not None and "error" not in last:
            return last
    own = cache.find_refresh_tokens(
        home_account_id=home, environments=envs, client_id=ctx.client_id
    )
    result = (yield from _try_rts(ctx, req, own, reason, stop_on_mismatch=False)) or last
    if result is not None and "error" in result:  # MSAL's classification of the failure
        classification = classify(result)
        if classification is not None:
            result["classification"] = classification
    return result


def _try_rts(
    ctx: AppContext,
    req: SilentRequest,
    rts: list[dict[str, Any]],
    reason: int,
    *,
    stop_on_mismatch: bool,
) -> Flow[TokenResult | None]:
    result: TokenResult | None = None
    for rt in rts:
        result = yield from _redeem(ctx, req, rt, reason)
        if "error" not in result:
            return result
        logger.debug("Refresh failed: %s", result.get("error"))
        if stop_on_mismatch and is_client_mismatch(result):
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


def _redeem(
    ctx: AppContext, req: SilentRequest, rt: Mapping[str, Any], reason: int
) -> Flow[TokenResult]:
    """Redeem one cached refresh token; cache what comes back (no new account entry)."""
    scopes = refresh_scopes(req, rt)
    result = yield from _post_refresh(ctx, req, rt, scopes, reason)
    if result.get("error") == "invalid_scope" and len(scopes) > len(req.scopes):
        # Some providers reject reserved scopes on refresh; ask for only what was asked.
        result = yield from _post_refresh(ctx, req, rt, list(req.scopes), reason)
    new_rt = result.get("refresh_token")
    if "error" not in result and new_rt:
        ctx.cache.update_rt(dict(rt), new_rt, removal_generation=req.removal)
    return result


def _post_refresh(
    ctx: AppContext,
    req: SilentRequest,
    rt: Mapping[str, Any],
    scopes: Sequence[str],
    reason: int,
) -> Flow[TokenResult]:
    form = refresh_token.refresh_token_form(
        client_id=ctx.client_id, refresh_token=rt["secret"], scopes=scopes, claims=req.claims
    )
    return token_call.obtain(
        ctx,
        req.handle,
        form,
        api=api.ACQUIRE_TOKEN_SILENT,
        scopes=scopes,
        grant_type=refresh_token.GRANT_TYPE,
        data=req.data,
        refresh_reason=reason,
        anchor=anchor_for_home_account(rt.get("home_account_id")),
        skip_account_creation=True,
        save_refresh_token=False,  # _redeem updates the redeemed entry (update_rt)
        _removal_generation=req.removal,
    )
