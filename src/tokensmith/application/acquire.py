"""Turning one token-endpoint exchange into an MSAL result and cache entries.

Every grant ends here: the flow's response is checked, shaped as MSAL shapes it, and
reported to the cache as an ``add(event)`` (the de-facto event contract of MSAL's
``TokenCache``), so the cache never imports the protocol core.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from tokensmith._jwt import b64url_encode
from tokensmith._redact import logger
from tokensmith.application.context import AppContext, AuthorityHandle
from tokensmith.application.results import TokenResult, error_result, idp_result
from tokensmith.errors import ProtocolError
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.token_endpoint import token_request

__all__ = ["assertion_hash", "exchange", "extra_form_fields", "record"]


def assertion_hash(user_assertion: str) -> str:
    """The cache key of an on-behalf-of user assertion (SHA-256, base64url)."""
    return b64url_encode(hashlib.sha256(user_assertion.encode("utf-8")).digest())


def extra_form_fields(data: Mapping[str, Any] | None) -> dict[str, str]:
    """The caller's ``data={...}`` extra body parameters (MSAL's hidden kwarg), as strings."""
    return {str(k): str(v) for k, v in (data or {}).items() if v is not None}


def exchange(
    ctx: AppContext,
    handle: AuthorityHandle,
    form: Mapping[str, str],
    headers: Mapping[str, str],
) -> Flow[dict[str, Any]]:
    """The token request of ``form`` (built by a ``protocol`` form builder) against
    ``handle``'s token endpoint, authenticated as the application."""
    return token_request(
        handle.metadata.token_endpoint,
        form,
        headers=headers,
        client_auth=ctx.client_auth,
        now=ctx.clock(),
    )


def record(
    ctx: AppContext,
    handle: AuthorityHandle,
    response: Mapping[str, Any],
    *,
    scopes: Sequence[str],
    grant_type: str,
    data: Mapping[str, Any] | None = None,
    **event_extra: Any,
) -> TokenResult:
    """Shape ``response`` as MSAL's result and, when it carries tokens, cache them.

    An error response is returned as it came. A success whose id_token cannot be
    decoded is refused (error ``invalid_response``) and nothing is cached.
    """
    if "error" in response or "access_token" not in response:
        return TokenResult(response)
    now = ctx.clock()
    try:
        result = idp_result(response, now)
    except ProtocolError as exc:
        logger.warning("Token response rejected: %s", exc)
        return error_result(
            "invalid_response", f"The identity provider's token response is unusable: {exc}"
        )
    event: dict[str, Any] = {
        "client_id": ctx.client_id,
        "scope": list(scopes),
        "token_endpoint": handle.metadata.token_endpoint,
        "environment": handle.instance,
        "response": _with_claims(response, result),
        "data": dict(data or {}),
        "grant_type": grant_type,
    }
    event.update(event_extra)
    try:
        ctx.cache.add(event, now=now)
    except ProtocolError as exc:  # the cache refused the response before writing anything
        return error_result(
            "invalid_response", f"The identity provider's token response is unusable: {exc}"
        )
    return result


def _with_claims(response: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """The response for the cache event, carrying the id_token claims already decoded
    for the result (the cache takes ``id_token_claims`` as a broker would hand them)."""
    copy = dict(response)
    if "id_token_claims" in result and "id_token_claims" not in copy:
        copy["id_token_claims"] = result["id_token_claims"]
    return copy
