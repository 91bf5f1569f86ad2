"""The authorization code flow (RFC 6749 §4.1 + PKCE + the OIDC nonce) as MSAL offers
it to web apps (``initiate_auth_code_flow`` / ``acquire_token_by_auth_code_flow``) and
to desktop apps (``acquire_token_interactive``, the browser step being an effect).

The flow dict handed to the caller has MSAL's keys; it holds secrets
(``code_verifier``, ``nonce``) and belongs in server-side session storage. Before
anything is cached, the id_token that comes back is checked
(:mod:`~tokensmith.engine.id_tokens`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.engine.dpop import binding_of
from tokensmith.engine.id_tokens import IdTokenExpectations, check_id_token
from tokensmith.engine.results import TokenResult
from tokensmith.engine.token_call import obtain
from tokensmith.entra import headers as api
from tokensmith.entra.client_info import anchor_mailbox_from_client_info
from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.protocol.authorization_code import (
    GRANT_TYPE,
    authorization_code_form,
    build_authorization_url,
    parse_authorization_response,
)
from tokensmith.protocol.effects import Done, Flow
from tokensmith.protocol.oidc.nonce import new_nonce, nonce_hash
from tokensmith.protocol.pkce import new_pkce

__all__ = [
    "FORM_POST_ADVICE",
    "acquire_token_by_auth_code_flow",
    "check_max_age",
    "complete_flow",
    "initiate_auth_code_flow",
    "new_flow",
    "redeem_code",
]

FORM_POST_ADVICE = (
    "response_mode='form_post' is recommended for better security "
    "(RFC 9700 §4.3.1): the code then never appears in a URL"
)
_RESERVED_DATA = frozenset({"code", "code_verifier", "redirect_uri", "grant_type", "client_id"})


def check_max_age(max_age: object, what: str = "max_age") -> None:
    """Raises ValueError unless ``max_age`` is None or an int (not a bool)."""
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
        raise ConfigurationError(f"{what} must be an integer number of seconds")


def initiate_auth_code_flow(
    ctx: AppContext,
    scopes: Any,
    redirect_uri: str | None,
    state: str | None,
    claims_challenge: str | None,
    max_age: int | None,
    response_mode: str | None,
    **auth_params: Any,
) -> Flow[dict[str, Any]]:
    """The flow of ``initiate_auth_code_flow`` (warns, as MSAL does, unless
    ``response_mode="form_post"``).

    Raises:
        ValueError: bad scopes, claims or ``max_age``.
    """
    if response_mode != "form_post":
        warnings.warn(FORM_POST_ADVICE, UserWarning, stacklevel=3)
    check_max_age(max_age)
    decorated = ctx.decorate(scopes)
    return _initiate(
        ctx,
        decorated,
        redirect_uri,
        state,
        claims_challenge,
        max_age,
        response_mode,
        auth_params,
    )


def _initiate(
    ctx: AppContext,
    scopes: list[str],
    redirect_uri: str | None,
    state: str | None,
    claims_challenge: str | None,
    max_age: int | None,
    response_mode: str | None,
    auth_params: Mapping[str, Any],
) -> Flow[dict[str, Any]]:
    metadata = yield from metadata_of(ctx.default)
    return new_flow(
        ctx,
        metadata.authorization_endpoint,
        scopes,
        redirect_uri=redirect_uri,
        state=state,
        claims_challenge=claims_challenge,
        max_age=max_age,
        response_mode=response_mode,
        **auth_params,
    )


def new_flow(
    ctx: AppContext,
    authorization_endpoint: str,
    scopes: list[str],
    *,
    redirect_uri: str | None,
    state: str | None,
    claims_challenge: str | None,
    max_age: int | None,
    response_mode: str | None,
    **auth_params: Any,
) -> dict[str, Any]:
    """A new flow dict (MSAL's keys): state, PKCE, nonce and the ``auth_uri``."""
    pkce, nonce = new_pkce(), new_nonce()
    dpop = binding_of(ctx, ctx.default.metadata) if ctx.dpop is not None else None
    if dpop is not None:  # the code is bound to the key (RFC 9449 §10)
        extra = auth_params.get("extra_params") or {}
        auth_params["extra_params"] = {"dpop_jkt": dpop.key.jkt, **extra}
    flow: dict[str, Any] = {
        "state": state or secrets.token_urlsafe(16),
        "redirect_uri": redirect_uri,
        "scope": scopes,
    }
    flow["auth_uri"] = build_authorization_url(
        authorization_endpoint,
        client_id=ctx.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=flow["state"],
        code_challenge=pkce.code_challenge,
        nonce=nonce_hash(nonce),
        response_mode=response_mode,
        claims=ctx.claims(claims_challenge),
        max_age=max_age,
        **auth_params,
    )
    flow["code_verifier"] = pkce.code_verifier
    flow["nonce"] = nonce
    flow["claims_challenge"] = claims_challenge
    if max_age is not None:
        flow["max_age"] = max_age
    return flow


def acquire_token_by_auth_code_flow(
    ctx: AppContext,
    auth_code_flow: Any,
    auth_response: Any,
    scopes: Any,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_by_auth_code_flow`` (the response is checked now).

    Raises:
        TypeError: the flow or the response is not a dict.
        ValueError: state mismatch, scopes not in the flow, a different redirect_uri,
            a response without ``code`` or ``error``, a flow already used.
    """
    if not isinstance(auth_code_flow, Mapping) or not isinstance(auth_response, Mapping):
        raise TypeError("auth_code_flow and auth_response must be dicts")
    if "redirect_uri" in kwargs and kwargs["redirect_uri"] != auth_code_flow.get("redirect_uri"):
        raise ProtocolError(
            "redirect_uri differs from the auth_code_flow's (RFC 6749 §4.1.3): "
            "the code can only be redeemed with the redirect_uri it was issued for"
        )
    wanted = ctx.decorate(scopes) if scopes else None
    return complete_flow(
        ctx,
        auth_code_flow,
        auth_response,
        wanted,
        kwargs,
        api=api.ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE,
    )


def complete_flow(
    ctx: AppContext,
    flow: Mapping[str, Any],
    auth_response: Mapping[str, Any],
    wanted: list[str] | None,
    kwargs: Mapping[str, Any],
    *,
    api: str,
) -> Flow[TokenResult]:
    """Check the browser's response against ``flow`` (now), then redeem its code.

    Raises:
        ValueError: see :func:`acquire_token_by_auth_code_flow`.
    """
    if not flow.get("state") or not isinstance(flow["state"], str):
        raise ProtocolError("state missing from auth_code_flow")
    response = parse_authorization_response(auth_response, expected_state=flow["state"])
    raw_scopes = flow.get("scope") or []
    if isinstance(raw_scopes, str) or not all(isinstance(s, str) for s in raw_scopes):
        raise ProtocolError("the auth_code_flow's scope must be a list of strings")
    flow_scopes = list(raw_scopes)
    if wanted and set(wanted) - set(flow_scopes):
        raise ProtocolError(f"scopes must be None or a subset of {flow_scopes}")
    nonce = flow.get("nonce")
    if "openid" in flow_scopes and (not nonce or not isinstance(nonce, str)):
        raise ProtocolError("nonce missing from auth_code_flow (openid was requested)")
    max_age = flow.get("max_age")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
        raise ProtocolError("the auth_code_flow's max_age must be an integer")
    reserved = sorted(_RESERVED_DATA & set(kwargs.get("data") or {}))
    if reserved:
        raise ProtocolError(f"data may not set {reserved}: they come from the flow")
    if response.error:  # only these three keys: never echo the rest of the response
        result = TokenResult(error=response.error)
        for key in ("error_description", "error_uri"):
            if getattr(response, key):
                result[key] = getattr(response, key)
        return Done(result)
    claims = ctx.claims(flow.get("claims_challenge"))
    used: _UsedFlows = ctx.memo("used_flows", _UsedFlows)
    used.claim(flow)  # before the code leaves: one redemption per flow
    return redeem_code(
        ctx,
        ctx.default,
        code=str(response.code),
        redirect_uri=flow.get("redirect_uri"),
        code_verifier=flow.get("code_verifier"),
        scopes=wanted or flow_scopes,
        claims=claims,
        expected=IdTokenExpectations(
            nonce=nonce_hash(nonce) if nonce else None,
            max_age=max_age,
            verify_signature=bool(kwargs.get("verify_id_token_signature")),
            require_id_token="openid" in flow_scopes,
        ),
        data=kwargs.get("data"),
        client_info=response.client_info,
        api=api,
    )


def redeem_code(
    ctx: AppContext,
    handle: AuthorityHandle,
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    scopes: Sequence[str],
    claims: str | None,
    expected: IdTokenExpectations,
    data: Mapping[str, Any] | None,
    client_info: str | None,
    api: str,
) -> Flow[TokenResult]:
    """Redeem ``code``; its id_token is checked before anything is cached."""
    form = authorization_code_form(
        client_id=ctx.client_id,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        scopes=scopes,
        claims=claims,
    )
    return obtain(
        ctx,
        handle,
        form,
        api=api,
        scopes=scopes,
        grant_type=GRANT_TYPE,
        data=data,
        anchor=_anchor(client_info),
        check=lambda response: check_id_token(ctx, handle, response, expected),
    )


class _UsedFlows:
    """The auth code flows this application has redeemed a code for (SHA-256 of their
    ``state`` and ``code_verifier``, never the values), so that a flow handed back a
    second time (a double-submitted or replayed response) is refused before its code
    is sent again. Per application object and bounded: apps with several processes
    must still drop the flow from their session (``session.pop``)."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}
        self._lock = threading.Lock()

    def claim(self, flow: Mapping[str, Any]) -> None:
        digest = hashlib.sha256(
            f"{flow.get('state')}\0{flow.get('code_verifier')}".encode()
        ).hexdigest()
        with self._lock:
            if digest in self._seen:
                raise ProtocolError(
                    "this auth_code_flow was already used: start a new one "
                    "with initiate_auth_code_flow()"
                )
            self._seen[digest] = None
            if len(self._seen) > self.LIMIT:
                del self._seen[next(iter(self._seen))]


def _anchor(client_info: str | None) -> str | None:
    if not client_info:
        return None
    try:
        return anchor_mailbox_from_client_info(client_info)
    except ProtocolError:
        return None
