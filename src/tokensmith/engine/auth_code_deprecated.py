"""MSAL's two deprecated code methods: ``get_authorization_request_url`` (an
authorization URL without PKCE) and ``acquire_token_by_authorization_code`` (a code
obtained by other means). New code uses
:func:`~tokensmith.engine.auth_code.initiate_auth_code_flow` and
:func:`~tokensmith.engine.auth_code.acquire_token_by_auth_code_flow`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from tokensmith.engine.auth_code import redeem_code
from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.engine.id_tokens import IdTokenExpectations
from tokensmith.engine.keywords import check_keywords, check_ssh_cert, request_data, wire_claims
from tokensmith.engine.results import TokenResult
from tokensmith.entra import headers as api
from tokensmith.errors import ConfigurationError, IdTokenError, ProtocolError
from tokensmith.protocol.authorization_code import build_authorization_url
from tokensmith.protocol.effects import Flow

__all__ = ["acquire_token_by_authorization_code", "get_authorization_request_url"]


def get_authorization_request_url(
    ctx: AppContext, scopes: Any, kwargs: Mapping[str, Any], **params: Any
) -> Flow[str]:
    """The flow of the deprecated ``get_authorization_request_url`` (warns now, as MSAL).

    Raises:
        ValueError: bad scopes, claims or authority.
    """
    authority = kwargs.get("authority")
    if authority:
        warnings.warn("get_authorization_request_url(authority=...) may go away", stacklevel=3)
    warnings.warn(
        "Change your get_authorization_request_url() to initiate_auth_code_flow()",
        DeprecationWarning,
        stacklevel=3,
    )
    handle = ctx.handle(authority)
    decorated = ctx.decorate(scopes)
    claims = ctx.claims(params.pop("claims_challenge", None))
    return _authorization_url(ctx, handle, decorated, claims, params)


def _authorization_url(
    ctx: AppContext,
    handle: AuthorityHandle,
    scopes: list[str],
    claims: str | None,
    params: Mapping[str, Any],
) -> Flow[str]:
    metadata = yield from metadata_of(handle)
    return build_authorization_url(
        metadata.authorization_endpoint,
        client_id=ctx.client_id,
        scopes=scopes,
        claims=claims,
        **params,
    )


_ACCEPTED = frozenset({"data", "authority"})
"""The keywords of ``acquire_token_by_authorization_code`` beyond its named parameters."""


def acquire_token_by_authorization_code(
    ctx: AppContext,
    code: Any,
    scopes: Any,
    redirect_uri: str | None,
    nonce: str | None,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
    *,
    forwarded_client_claims: object = None,
) -> Flow[TokenResult]:
    """The flow of the deprecated ``acquire_token_by_authorization_code`` (warns now).
    ``forwarded_client_claims`` go out merged into ``claims`` and key the access token
    in the cache (its extended key), as in MSAL.

    Raises:
        ValueError: ``scopes`` is not a list; forwarded claims that are not a JSON
            object string; the nonce does not match (from the flow).
        TypeError: a keyword this method does not take.
    """
    check_keywords("acquire_token_by_authorization_code", kwargs, _ACCEPTED)
    data = request_data(kwargs.get("data"), forwarded_client_claims=forwarded_client_claims)
    check_ssh_cert(data)
    if not isinstance(scopes, list):
        raise ConfigurationError("scopes must be a list")
    warnings.warn(
        "Change your acquire_token_by_authorization_code() to acquire_token_by_auth_code_flow()",
        DeprecationWarning,
        stacklevel=3,
    )
    flow = redeem_code(
        ctx,
        ctx.handle(kwargs.get("authority")),
        code=str(code) if code else "",
        redirect_uri=redirect_uri,
        code_verifier=None,
        scopes=ctx.decorate(scopes),
        claims=wire_claims(ctx, claims_challenge, data),
        expected=IdTokenExpectations(nonce=nonce),
        data=data,
        client_info=None,
        api=api.ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE,
    )
    return _nonce_errors_as_value_errors(flow)


def _nonce_errors_as_value_errors(flow: Flow[TokenResult]) -> Flow[TokenResult]:
    try:
        return (yield from flow)
    except IdTokenError as exc:
        raise ProtocolError(str(exc)) from exc
