"""Token minting: v2.0 id tokens, v1.0/v2.0 access tokens and the token response
(reference/entra-protocol.md §4.5, §6.1, §6.2).

Claims follow Entra: ``sub`` is pairwise per app, ``client_info`` is base64url JSON
``{"uid", "utid"}`` without padding (``uid`` suffixed with the B2C policy), ``foci``
is ``"1"`` for family apps, ``refresh_token`` only with ``offline_access`` and
``id_token`` only with ``openid``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from tokensmith._jwt import b64url_encode
from tokensmith.devidp.config import App, User
from tokensmith.devidp.context import Context
from tokensmith.devidp.jws import sign_rs256
from tokensmith.devidp.scopes import ScopeGrant
from tokensmith.devidp.state import RefreshGrant, Session
from tokensmith.devidp.tenancy import Route, issuer
from tokensmith.devidp.wire import json_object

__all__ = ["UserTokenRequest", "app_token_response", "client_info", "user_token_response"]


@dataclass(frozen=True)
class UserTokenRequest:
    """Everything needed to answer a user grant.

    Attributes:
        app: the client.
        user: the signed-in user.
        session: tenant and strength of the sign-in.
        grant: resolved scopes.
        route: where the request was addressed.
        azpacr: ``0`` public, ``1`` secret, ``2`` certificate.
        client_info: the client sent ``client_info=1``.
        nonce: echoed into the id token verbatim.
        claims: the request's ``claims`` JSON, if any.
    """

    app: App
    user: User
    session: Session
    grant: ScopeGrant
    route: Route
    azpacr: str
    client_info: bool
    nonce: str | None = None
    claims: str | None = None


def client_info(user: User, policy: str | None = None) -> str:
    """Entra's ``client_info``: base64url JSON of ``uid`` and home tenant ``utid``."""
    uid = f"{user.oid}-{policy.lower()}" if policy else user.oid
    raw = json.dumps({"uid": uid, "utid": user.tenant}, separators=(",", ":"))
    return b64url_encode(raw.encode("utf-8"))


def _pairwise(oid: str, audience: str) -> str:
    return b64url_encode(hashlib.sha256(f"{oid}|{audience}".encode()).digest())[:43]


def _opaque() -> str:
    return b64url_encode(secrets.token_bytes(16))


def _requests_cp1(claims: str | None) -> bool:
    parsed = json_object(claims) if claims else None
    try:
        values = parsed["access_token"]["xms_cc"]["values"]  # type: ignore[index]
    except (KeyError, TypeError):
        return False
    return isinstance(values, list) and any(str(v).lower() == "cp1" for v in values)


def _base_claims(now: int, lifetime: int) -> dict[str, Any]:
    return {"iat": now, "nbf": now, "exp": now + lifetime, "aio": _opaque()}


def _access_token(ctx: Context, req: UserTokenRequest, lifetime: int) -> str:
    now = int(ctx.clock())
    api, user, tid = req.grant.api, req.user, req.session.tenant_id
    claims = _base_claims(now, lifetime)
    if api.token_version == 1:
        claims.update(
            aud=api.app_id_uri,
            iss=f"{ctx.base_url}/{tid}/",
            appid=req.app.client_id,
            appidacr=req.azpacr,
            upn=user.username,
            unique_name=user.username,
            amr=["pwd", "mfa"] if req.session.mfa else ["pwd"],
            ver="1.0",
        )
    else:
        claims.update(
            aud=api.client_id,
            iss=issuer(ctx, req.route, tid),
            azp=req.app.client_id,
            azpacr=req.azpacr,
            preferred_username=user.username,
            ver="2.0",
        )
    claims.update(
        name=user.name,
        oid=user.oid,
        rh=_opaque(),
        scp=" ".join(req.grant.permissions),
        sub=_pairwise(user.oid, api.client_id),
        tid=tid,
        uti=_opaque(),
        idtyp="user",
    )
    if _requests_cp1(req.claims):
        claims["xms_cc"] = ["cp1"]
    return sign_rs256(claims, ctx.keys.signing_key, ctx.keys.kid)


def _id_token(ctx: Context, req: UserTokenRequest) -> str:
    now = int(ctx.clock())
    user, tid, policy = req.user, req.session.tenant_id, req.session.policy
    claims = _base_claims(now, ctx.config.settings.id_token_lifetime)
    claims.update(aud=req.app.client_id, iss=issuer(ctx, req.route, tid), name=user.name)
    claims.update(oid=user.oid, tid=tid, uti=_opaque(), rh=_opaque())
    if req.route.kind == "adfs":
        claims.update(upn=user.username, unique_name=user.username, sub=user.oid, ver="1.0")
    elif policy:
        claims.update(sub=user.oid, emails=[user.username], tfp=policy, ver="1.0")
        claims["auth_time"] = now
    else:
        claims.update(preferred_username=user.username, ver="2.0")
        claims.update(sub=_pairwise(user.oid, req.app.client_id), sid=str(uuid.uuid4()))
    if req.nonce is not None:
        claims["nonce"] = req.nonce
    return sign_rs256(claims, ctx.keys.signing_key, ctx.keys.kid)


def user_token_response(ctx: Context, req: UserTokenRequest) -> dict[str, Any]:
    """The token response of a user grant, storing the new refresh token."""
    settings = ctx.config.settings
    cp1 = _requests_cp1(req.claims)
    lifetime = settings.long_lived_token_lifetime if cp1 else settings.access_token_lifetime
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": req.grant.response_scope(),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": _access_token(ctx, req, lifetime),
    }
    if "offline_access" in req.grant.oidc:
        grant = RefreshGrant(req.app.client_id, req.app.family_id, req.session)
        body["refresh_token"] = ctx.store.add_refresh(grant)
    if "openid" in req.grant.oidc:
        body["id_token"] = _id_token(ctx, req)
    if req.client_info and req.route.kind != "adfs":
        body["client_info"] = client_info(req.user, req.session.policy)
    if req.app.family_id:
        body["foci"] = req.app.family_id
    return body


def app_token_response(
    ctx: Context, app: App, grant: ScopeGrant, tenant_id: str, azpacr: str
) -> dict[str, Any]:
    """The client-credentials response: no scope, refresh token, id token or client_info."""
    now = int(ctx.clock())
    lifetime = ctx.config.settings.access_token_lifetime
    sp_oid = str(uuid.uuid5(uuid.UUID(tenant_id), app.client_id))
    api = grant.api
    claims = _base_claims(now, lifetime)
    if api.token_version == 1:
        claims.update(aud=api.app_id_uri, iss=f"{ctx.base_url}/{tenant_id}/", ver="1.0")
        claims.update(appid=app.client_id, appidacr=azpacr)
    else:
        claims.update(aud=api.client_id, iss=f"{ctx.base_url}/{tenant_id}/v2.0", ver="2.0")
        claims.update(azp=app.client_id, azpacr=azpacr)
    claims.update(oid=sp_oid, sub=sp_oid, tid=tenant_id, uti=_opaque(), rh=_opaque())
    if grant.permissions:  # Entra leaves the claim out when no app role is granted
        claims["roles"] = list(grant.permissions)
    claims["idtyp"] = "app"
    token = sign_rs256(claims, ctx.keys.signing_key, ctx.keys.kid)
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }
