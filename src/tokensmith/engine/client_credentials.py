"""App-only tokens (RFC 6749 §4.4) through the one cache-first path."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.engine.cache_first import cache_first
from tokensmith.engine.context import AppContext, AuthorityHandle, realm_of
from tokensmith.engine.results import TokenResult
from tokensmith.engine.silent import scope_list
from tokensmith.engine.token_call import extra_form_fields, obtain
from tokensmith.entra import headers as api
from tokensmith.entra.tenants import is_multi_tenant
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.client_credentials import GRANT_TYPE, client_credentials_form
from tokensmith.protocol.effects import Flow

__all__ = ["acquire_token_for_client"]


def acquire_token_for_client(
    ctx: AppContext, scopes: Any, claims_challenge: str | None, kwargs: Mapping[str, Any]
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_for_client`` (arguments checked now; warns, as MSAL
    does, for ``/common`` and ``/organizations``).

    Raises:
        ValueError: ``force_refresh`` was given (MSAL refuses it here too), bad scopes
            or authority.
    """
    if kwargs.get("force_refresh"):
        raise ConfigurationError(
            "acquire_token_for_client does not take force_refresh; "
            "pass a claims_challenge to bypass the cache"
        )
    handle = ctx.handle(kwargs.get("authority"))
    if is_multi_tenant(handle.spec.tenant):
        warnings.warn(
            "Client credentials with /common or /organizations is unreliable; "
            "use a tenant-specific authority",
            DeprecationWarning,
            stacklevel=3,
        )
    extra = kwargs.get("data")
    data = extra_form_fields(extra) if extra else {}
    return _for_client(ctx, handle, scope_list(scopes), data, claims_challenge)


def _for_client(
    ctx: AppContext,
    handle: AuthorityHandle,
    scopes: list[str],
    data: dict[str, str],
    claims_challenge: str | None,
) -> Flow[TokenResult]:
    realm = handle.realm
    if realm is None:
        realm = yield from realm_of(handle)
    ext_key = (compute_ext_cache_key(data) or None) if data else None
    envs = handle.environments
    client_id = ctx.client_id
    key_id = data.get("key_id")

    def lookup(now: float) -> dict[str, Any] | None:
        return ctx.cache.find_access_token(
            home_account_id=None,
            environments=envs,
            client_id=client_id,
            realm=realm,
            scopes=scopes,
            now=now,
            ext_cache_key=ext_key,
            key_id=key_id,
        )

    def fetch(reason: int) -> Flow[TokenResult]:
        form = client_credentials_form(
            client_id=client_id, scopes=scopes, claims=ctx.claims(claims_challenge)
        )
        return obtain(
            ctx,
            handle,
            form,
            api=api.ACQUIRE_TOKEN_FOR_CLIENT,
            scopes=scopes,
            grant_type=GRANT_TYPE,
            data=data,
            refresh_reason=reason,
        )

    key = (
        "client",
        handle.instance,
        realm,
        frozenset(s.lower() for s in scopes),
        ext_key,
        claims_challenge,
    )
    result = yield from cache_first(ctx, key, lookup, fetch, force=bool(claims_challenge))
    assert result is not None  # fetch always answers
    return result
