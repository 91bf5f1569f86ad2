"""Sender-constrained tokens at the dev IdP: DPoP (RFC 9449) and Entra PoP (SHR).

The token endpoint calls :func:`requested` before the grant runs and :func:`bind`
on the grant's answer; nothing else in the dev IdP knows about bindings.

* A ``DPoP`` header is checked with tokensmith's verifier (RFC 9449 §4.3, ``htu`` =
  the token endpoint as the IdP serves it); the access token gets ``cnf.jkt`` and
  ``token_type`` ``DPoP``. A public client's refresh token is bound to the key (§5):
  redeeming it later needs a proof by the same key (else ``invalid_grant``).
* ``token_type=pop`` with ``req_cnf`` (base64url ``{"kid": ...}``) gives an access
  token with ``cnf.kid`` and ``token_type`` ``pop``, as Entra does.
* Without either, nothing changes.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from tokensmith._jwt import decode_json_part, decode_jwt_claims
from tokensmith.devidp.clientauth import ClientAuth
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError
from tokensmith.devidp.jws import sign_rs256
from tokensmith.devidp.state import GrantStore
from tokensmith.devidp.wire import Request
from tokensmith.errors import ProtocolError
from tokensmith.protocol.dpop_verify import DPoPProofError, DPoPVerifier

__all__ = ["Binding", "bind", "requested"]


@dataclass(frozen=True, slots=True)
class Binding:
    """What a token request asked to be bound to.

    Attributes:
        kind: ``"DPoP"`` or ``"pop"``.
        thumbprint: the key's RFC 7638 thumbprint (``cnf.jkt`` or ``cnf.kid``).
    """

    kind: str
    thumbprint: str


class _State:
    """Per dev IdP: the proof replay memory and the refresh tokens bound to keys."""

    def __init__(self, ctx: Context) -> None:
        self.verifier = DPoPVerifier(clock=ctx.clock)
        self.bound_refresh: dict[str, str] = {}
        self.lock = threading.Lock()


_STATES: dict[int, tuple[weakref.ref[GrantStore], _State]] = {}
"""By the id of the dev IdP's grant store (not hashable), forgotten with the store."""
_STATES_LOCK = threading.Lock()


def _state(ctx: Context) -> _State:
    store, key = ctx.store, id(ctx.store)
    with _STATES_LOCK:
        found = _STATES.get(key)
        if found is not None and found[0]() is store:
            return found[1]
        state = _State(ctx)

        def forget(_: object, key: int = key) -> None:
            _STATES.pop(key, None)

        _STATES[key] = (weakref.ref(store, forget), state)
        return state


def requested(ctx: Context, req: Request) -> Binding | None:
    """The binding a token request asks for, its proof checked; also refuses a bound
    refresh token redeemed without its key.

    Raises:
        OAuthError: ``invalid_dpop_proof``, a malformed ``req_cnf``, or a bound
            refresh token presented without a proof by its key.
    """
    state = _state(ctx)
    proof = req.headers.get("dpop")
    binding: Binding | None = None
    if proof is not None:
        try:
            checked = state.verifier.verify(proof, method=req.method, url=ctx.base_url + req.path)
        except DPoPProofError as exc:
            raise OAuthError("invalid_dpop_proof", 0, exc.description) from None
        binding = Binding("DPoP", checked.jkt)
    elif req.param("token_type") == "pop":
        binding = Binding("pop", _req_cnf_kid(req.param("req_cnf")))
    refresh = req.param("refresh_token") if req.param("grant_type") == "refresh_token" else None
    if refresh:
        with state.lock:
            bound = state.bound_refresh.get(refresh)
        if bound is not None and (binding is None or binding.thumbprint != bound):
            raise OAuthError("invalid_grant", 0, "The refresh token is bound to another DPoP key.")
    return binding


def _req_cnf_kid(value: str | None) -> str:
    try:
        kid = decode_json_part(value or "", "req_cnf").get("kid")
    except ProtocolError:
        kid = None
    if not isinstance(kid, str) or not kid:
        raise OAuthError("invalid_request", 0, "req_cnf must be base64url JSON with a kid.")
    return kid


def bind(
    ctx: Context, binding: Binding | None, body: dict[str, Any], client: ClientAuth
) -> dict[str, Any]:
    """``body`` with its access token bound as ``binding`` asks (unchanged without)."""
    if binding is None or "access_token" not in body:
        return body
    claims = decode_jwt_claims(body["access_token"], "access token")
    member = "jkt" if binding.kind == "DPoP" else "kid"
    claims["cnf"] = {member: binding.thumbprint}
    bound = dict(body)
    bound["access_token"] = sign_rs256(claims, ctx.keys.signing_key, ctx.keys.kid)
    bound["token_type"] = binding.kind
    refresh = body.get("refresh_token")
    if binding.kind == "DPoP" and refresh and not client.confidential:
        state = _state(ctx)
        with state.lock:
            state.bound_refresh[refresh] = binding.thumbprint
    return bound
