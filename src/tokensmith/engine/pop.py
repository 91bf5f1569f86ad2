"""Entra PoP tokens with a software key, for confidential clients (a tokensmith
extension; MSAL offers PoP only through a broker).

``acquire_token_for_client(scopes, auth_scheme=PopAuthScheme(method, url, nonce))``
asks for ``token_type=pop`` with ``req_cnf`` naming the application's key
(:mod:`tokensmith.protocol.shr`), caches the bound token under that key's thumbprint
(``key_id``, the mechanism MSAL uses for SSH certificates), and returns, on every
call, a freshly signed SHR for the scheme's method, URL and nonce as
``access_token`` (``token_type`` ``pop``). The key is made for the application on first
use (ES256, kept in memory: a confidential client's tokens are not bound to it beyond
their lifetime). An application with ``dpop=`` gets DPoP tokens and refuses
``auth_scheme``: the two bindings are not mixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.engine.results import TokenResult, error_result
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.dpop import DPoPKey
from tokensmith.protocol.effects import Done, Flow
from tokensmith.protocol.shr import pop_request_fields, sign_http_request

__all__ = ["pop_key", "with_pop"]

MakeFlow = Callable[[Mapping[str, Any]], Flow[TokenResult]]


def pop_key(ctx: Any) -> DPoPKey:
    """The key the application's PoP tokens are bound to (made on first use)."""
    key: DPoPKey = ctx.memo("pop_key", DPoPKey.generate)
    return key


def _scheme_parts(scheme: object) -> tuple[str, str, str]:
    parts = tuple(getattr(scheme, name, None) for name in ("http_method", "url", "nonce"))
    if not all(isinstance(p, str) and p for p in parts):
        raise ConfigurationError("auth_scheme must be a tokensmith.PopAuthScheme")
    return parts  # type: ignore[return-value]


def with_pop(
    ctx: Any, scheme: object, kwargs: Mapping[str, Any], make_flow: MakeFlow
) -> Flow[TokenResult]:
    """Run ``make_flow`` for a PoP token and turn its result into an SHR.

    Raises:
        ValueError: not a confidential client, or ``scheme`` is not a PopAuthScheme.
    """
    if ctx.is_public:
        raise ConfigurationError("auth_scheme (PoP) needs a broker for public clients")
    if ctx.dpop is not None:
        raise ConfigurationError(
            "this application gets DPoP tokens (dpop=); auth_scheme (Entra PoP) is for "
            "applications without dpop"
        )
    method, url, nonce = _scheme_parts(scheme)
    key = pop_key(ctx)
    data = {**(kwargs.get("data") or {}), **pop_request_fields(key), "key_id": key.jkt}
    rest = {k: v for k, v in kwargs.items() if k != "auth_scheme"}
    flow = make_flow({**rest, "data": data})

    def finish(result: TokenResult) -> TokenResult:
        return _signed(result, key, method, url, nonce, ctx.clock())

    if type(flow) is Done:
        return Done(finish(flow.value))
    return _mapped(flow, finish)


def _mapped(
    flow: Flow[TokenResult], finish: Callable[[TokenResult], TokenResult]
) -> Flow[TokenResult]:
    result = yield from flow
    return finish(result)


def _signed(
    result: TokenResult, key: DPoPKey, method: str, url: str, nonce: str, now: float
) -> TokenResult:
    if "access_token" not in result:
        return result
    token_type = str(result.get("token_type", "Bearer"))
    if token_type.lower() != "pop":
        return error_result(
            "invalid_response",
            f"The token endpoint answered token_type {token_type[:20]!r} where a PoP "
            "token was requested; the provider may not support PoP for this client.",
        )
    shr = sign_http_request(
        key, result["access_token"], method=method, url=url, nonce=nonce, now=now
    )
    signed = TokenResult(result)
    signed["access_token"] = shr
    signed["token_type"] = "pop"
    return signed
