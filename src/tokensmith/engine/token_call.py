"""The one skeleton of every token request: extra fields, form, headers, request,
then the write-back of what came back.

:func:`post_token` resolves the authority (a flow step), merges the caller's ``data``
extras under the grant's form, adds the correlation / telemetry / routing headers and
yields the request. :func:`record` shapes the answer as MSAL does and reports it to the
cache as an ``add(event)`` (the de-facto event contract of MSAL's ``TokenCache``), so
the cache never imports the protocol core. :func:`obtain` is the two in a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tokensmith._jwt import b64url_encode
from tokensmith._redact import logger
from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.engine.dpop import alg_refusal, binding_of
from tokensmith.engine.keywords import extra_form_fields
from tokensmith.engine.results import TokenResult, error_result, idp_result
from tokensmith.entra.headers import request_headers
from tokensmith.errors import IdTokenError, ProtocolError
from tokensmith.protocol.claims import CLIENT_CLAIMS_FIELD
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.oidc.id_token import check_claim_types
from tokensmith.protocol.token_endpoint import token_request

__all__ = ["assertion_hash", "obtain", "post_token", "record"]

Check = Callable[[Mapping[str, Any]], Flow[None]]
"""A flow that checks a successful token response before it is cached (raises if not)."""


def assertion_hash(user_assertion: str) -> str:
    """The cache key of an on-behalf-of user assertion (SHA-256, base64url)."""
    return b64url_encode(hashlib.sha256(user_assertion.encode("utf-8")).digest())


def post_token(
    ctx: AppContext,
    handle: AuthorityHandle,
    form: Mapping[str, str],
    *,
    api: str,
    data: Mapping[str, Any] | None = None,
    refresh_reason: int = 0,
    anchor: str | None = None,
    correlation_id: str | None = None,
    endpoint: str | None = None,
) -> Flow[dict[str, Any]]:
    """POST ``form`` (a ``protocol`` form builder's output) with ``data``'s extras under
    it to ``handle``'s token endpoint (or ``endpoint``: a regional one), authenticated
    as the application. ``data``'s client-originated claims are not sent as a field
    (the grant's ``claims`` carries them).

    Raises:
        MsalServiceError: HTTP 5xx. TransportError: no answer.
    """
    metadata = handle.metadata or (yield from metadata_of(handle))
    dpop = binding_of(ctx, metadata) if ctx.dpop is not None else None
    if dpop is not None and (refused := alg_refusal(dpop, metadata)) is not None:
        return refused
    body = extra_form_fields(data) if data else {}
    body.pop(CLIENT_CLAIMS_FIELD, None)
    body.update(form)
    headers = request_headers(
        ctx.base_headers,
        api,
        correlation_id=correlation_id,
        refresh_reason=refresh_reason,
        anchor_mailbox=anchor,
    )
    return (
        yield from token_request(
            endpoint or metadata.token_endpoint,
            body,
            headers=headers,
            client_auth=ctx.client_auth,
            now=ctx.clock(),
            dpop=dpop,
            audience=metadata.token_endpoint if endpoint else None,
        )
    )


def obtain(
    ctx: AppContext,
    handle: AuthorityHandle,
    form: Mapping[str, str],
    *,
    api: str,
    scopes: Sequence[str],
    grant_type: str,
    data: Mapping[str, Any] | None = None,
    refresh_reason: int = 0,
    anchor: str | None = None,
    correlation_id: str | None = None,
    check: Check | None = None,
    save_refresh_token: bool = True,
    endpoint: str | None = None,
    **event_extra: Any,
) -> Flow[TokenResult]:
    """:func:`post_token`, ``check`` on a success, then :func:`record`."""
    response = yield from post_token(
        ctx,
        handle,
        form,
        api=api,
        data=data,
        refresh_reason=refresh_reason,
        anchor=anchor,
        correlation_id=correlation_id,
        endpoint=endpoint,
    )
    if check is not None and "error" not in response:
        yield from check(response)
    return record(
        ctx,
        handle,
        response,
        scopes=scopes,
        grant_type=grant_type,
        data=data,
        save_refresh_token=save_refresh_token,
        **event_extra,
    )


def record(
    ctx: AppContext,
    handle: AuthorityHandle,
    response: Mapping[str, Any],
    *,
    scopes: Sequence[str],
    grant_type: str,
    data: Mapping[str, Any] | None = None,
    save_refresh_token: bool = True,
    **event_extra: Any,
) -> TokenResult:
    """Shape ``response`` as MSAL's result and, when it carries tokens, cache them.

    ``save_refresh_token=False`` leaves a returned refresh token out of the cache
    write: a refresh that redeemed a cached refresh token updates that entry in
    place (``TokenCache.update_rt``) instead of adding one keyed by the new scopes,
    as MSAL does.

    An error response is returned as it came. A success whose id_token cannot be
    decoded, or whose claims have the wrong types (``sub`` not a string, ``exp`` not
    a finite number...), is refused (error ``invalid_response``) and nothing is cached.
    """
    if "error" in response or "access_token" not in response:
        return TokenResult(response)
    now = ctx.clock()
    try:
        result = idp_result(response, now)
        check_claim_types(result.get("id_token_claims") or {})
    except (ProtocolError, IdTokenError) as exc:
        logger.warning("Token response rejected: %s", exc)
        return _unusable(exc)
    event: dict[str, Any] = {
        "client_id": ctx.client_id,
        "scope": list(scopes),
        "token_endpoint": handle.token_endpoint,
        "environment": handle.instance,
        "response": _with_claims(response, result, save_refresh_token),
        "data": dict(data or {}),
        "grant_type": grant_type,
    }
    event.update(event_extra)
    if ctx.dpop is not None and not event["data"].get("key_id"):
        _bind(ctx, event)
    try:
        ctx.cache.add(event, now=now)
    except ProtocolError as exc:  # the cache refused the response before writing anything
        return _unusable(exc)
    return result


def _bind(ctx: AppContext, event: dict[str, Any]) -> None:
    """Cache a DPoP-bound token with its key's thumbprint as ``key_id`` (the token
    endpoint refused anything else: :func:`tokensmith.protocol.dpop_client.require_bound`),
    so that only a caller holding that key is served it."""
    binding = binding_of(ctx)
    if binding is not None:
        event["data"]["key_id"] = binding.key.jkt


def _unusable(exc: Exception) -> TokenResult:
    return error_result(
        "invalid_response", f"The identity provider's token response is unusable: {exc}"
    )


def _with_claims(
    response: Mapping[str, Any], result: Mapping[str, Any], save_refresh_token: bool
) -> dict[str, Any]:
    """The response for the cache event, carrying the id_token claims already decoded
    for the result (the cache takes ``id_token_claims`` as a broker would hand them),
    without the refresh token when the caller updates its own entry."""
    copy = dict(response)
    if not save_refresh_token:
        copy.pop("refresh_token", None)
    if "id_token_claims" in result and "id_token_claims" not in copy:
        copy["id_token_claims"] = result["id_token_claims"]
    return copy
