"""App-only tokens (RFC 6749 §4.4) through the one cache-first path.

``fmi_path`` and ``forwarded_client_claims`` (:mod:`.keywords`) join the request's
extra fields and so its extended cache key; the token request goes to the regional
endpoint when a region is configured or detected (:mod:`tokensmith.entra.region`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

from tokensmith._lazy import lazy_module
from tokensmith._warn import warn_caller
from tokensmith.authority import AuthorityKind
from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.engine.cache_first import cache_first
from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.engine.dpop import bound_key_id
from tokensmith.engine.keywords import check_keywords, check_ssh_cert, request_data, wire_claims
from tokensmith.engine.results import TokenResult
from tokensmith.engine.silent import scope_list
from tokensmith.entra import headers as api
from tokensmith.entra.region import REGION_MEMO, RegionChoice, regional_token_endpoint
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import Flow

if TYPE_CHECKING:
    from tokensmith.engine import pop, token_call
    from tokensmith.protocol import client_credentials as grant
else:  # a cache hit needs none of them: the first request loads them (tokensmith._lazy)
    pop = lazy_module("tokensmith.engine.pop")
    token_call = lazy_module("tokensmith.engine.token_call")
    grant = lazy_module("tokensmith.protocol.client_credentials")

__all__ = ["acquire_token_for_client"]


_ACCEPTED = frozenset({"data", "authority", "force_refresh", "auth_scheme"})
"""The keywords of ``acquire_token_for_client`` beyond its named parameters."""


def acquire_token_for_client(
    ctx: AppContext,
    scopes: Any,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
    *,
    fmi_path: object = None,
    forwarded_client_claims: object = None,
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_for_client`` (arguments checked now; warns, as MSAL
    does, for ``/common`` and ``/organizations``).

    Raises:
        ValueError: ``force_refresh`` was given (MSAL refuses it here too), an
            ``auth_scheme`` that is not a ``PopAuthScheme`` (:mod:`.pop`), a non-string
            ``fmi_path``, ``forwarded_client_claims`` that are not a JSON object, bad
            scopes or authority.
        TypeError: a keyword this method does not take.
    """
    if kwargs:  # (the usual call has none: nothing to check)
        check_keywords("acquire_token_for_client", kwargs, _ACCEPTED)
        scheme = kwargs.get("auth_scheme")
        if scheme is not None:  # Entra PoP with the application's software key
            return pop.with_pop(
                ctx,
                scheme,
                kwargs,
                lambda plain: acquire_token_for_client(
                    ctx,
                    scopes,
                    claims_challenge,
                    plain,
                    fmi_path=fmi_path,
                    forwarded_client_claims=forwarded_client_claims,
                ),
            )
        if kwargs.get("force_refresh"):
            raise ConfigurationError(
                "acquire_token_for_client does not take force_refresh; "
                "pass a claims_challenge to bypass the cache"
            )
    authority = kwargs.get("authority")
    handle = ctx.default if authority is None else ctx.handle(authority)
    if handle.multi_tenant:
        warn_caller(
            "Client credentials with /common or /organizations is unreliable; "
            "use a tenant-specific authority",
            DeprecationWarning,
        )
    extra = kwargs.get("data")
    data = (
        request_data(extra, fmi_path=fmi_path, forwarded_client_claims=forwarded_client_claims)
        if extra or fmi_path is not None or forwarded_client_claims is not None
        else {}
    )
    if data:
        check_ssh_cert(data)
    request = _ForClient(ctx, handle, scope_list(scopes), data, claims_challenge)
    return cache_first(ctx, request, force=bool(claims_challenge))  # type: ignore[return-value]


class _ForClient:
    """The cache-first request of an app-only token (see :mod:`..cache_first`)."""

    __slots__ = ("claims_challenge", "ctx", "data", "ext_key", "handle", "scopes")

    def __init__(
        self,
        ctx: AppContext,
        handle: AuthorityHandle,
        scopes: list[str],
        data: dict[str, str],
        claims_challenge: str | None,
    ) -> None:
        self.ctx = ctx
        self.handle = handle
        self.scopes = scopes
        self.data = data
        self.ext_key = (compute_ext_cache_key(data) or None) if data else None
        self.claims_challenge = claims_challenge

    def lookup(self, realm: str, now: float) -> dict[str, Any] | None:
        return self.ctx.cache.find_access_token(
            home_account_id=None,
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
            "client",
            self.ctx.client_id,
            self.handle.instance,
            realm,
            frozenset(s.lower() for s in self.scopes),
            self.ext_key,
            self.claims_challenge,
        )

    def fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        ctx = self.ctx
        claims = wire_claims(ctx, self.claims_challenge, self.data)
        form = grant.client_credentials_form(
            client_id=ctx.client_id, scopes=self.scopes, claims=claims
        )
        endpoint = yield from _regional_endpoint(ctx, self.handle)
        result = yield from token_call.obtain(
            ctx,
            self.handle,
            form,
            api=api.ACQUIRE_TOKEN_FOR_CLIENT,
            scopes=self.scopes,
            grant_type=grant.GRANT_TYPE,
            data=self.data,
            refresh_reason=reason,
            endpoint=endpoint,
        )
        return result


def _regional_endpoint(ctx: AppContext, handle: AuthorityHandle) -> Flow[str | None]:
    """The regional token endpoint of an Entra authority when the application has a
    region (configured, or detected now once); None: the authority's own."""
    choice: RegionChoice | None = ctx.memos.get(REGION_MEMO)
    if choice is None or choice.configured is False or handle.spec.kind is not AuthorityKind.AAD:
        return None
    region = yield from choice.region()
    if region is None:
        return None
    metadata = handle.metadata or (yield from metadata_of(handle))
    return regional_token_endpoint(metadata.token_endpoint, handle.instance, region)
