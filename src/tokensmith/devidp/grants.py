"""The token endpoint's grants, one function each (RFC 6749 §4.1.3, §4.3.2, §4.4.2,
§6; RFC 7636 §4.6; RFC 8628 §3.4; RFC 7523 §2.1 with Entra's on-behalf-of profile).

Entra's specifics come from reference/entra-protocol.md §4.2: both device grant
spellings, ROPC refused on ``common``/``consumers``, FOCI refresh tokens shared within
a family, refresh tokens rotated on every use (old ones stay valid, as in Entra).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from tokensmith._jwt import decode_jwt_claims
from tokensmith.devidp.clientauth import ClientAuth
from tokensmith.devidp.config import User
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError, missing_parameter
from tokensmith.devidp.faults import consent_required_error, fault_error, mfa_required_error
from tokensmith.devidp.jws import verify_token
from tokensmith.devidp.saml import redeem_assertion
from tokensmith.devidp.scopes import resolve_scopes
from tokensmith.devidp.state import AuthCode, Session
from tokensmith.devidp.tenancy import Route, member_tenant
from tokensmith.devidp.tokens import UserTokenRequest, app_token_response, user_token_response
from tokensmith.devidp.wire import Request, json_object
from tokensmith.errors import ProtocolError

__all__ = [
    "apply_fault",
    "authorization_code",
    "check_claims",
    "client_credentials",
    "device_code",
    "on_behalf_of",
    "password",
    "refresh_token",
    "saml_bearer",
    "user_fic",
]

_DEFAULT_USER_SCOPE = "openid profile offline_access"


def _required(req: Request, name: str) -> str:
    value = req.param(name)
    if not value:
        raise missing_parameter(name)
    return value


def apply_fault(ctx: Context, client_id: str, user: str | None, device: bool) -> None:
    """Fire the first matching fault switch: sleep for ``delay``, raise for the rest."""
    fault = ctx.faults.take(client_id=client_id, user=user, device=device)
    if fault is None:
        return
    error = fault_error(fault, client_id)
    if error is not None:
        raise error
    ctx.sleep(fault.seconds)


def _invalid_grant(code: int, message: str, **kwargs: Any) -> OAuthError:
    return OAuthError("invalid_grant", code, message, **kwargs)


def _not_member(user: User) -> OAuthError:
    return _invalid_grant(
        50020,
        f"User account '{user.username}' from identity provider does not exist in tenant "
        "and cannot access the application in that tenant.",
    )


def _session_for(route: Route, user: User, mfa: bool = False) -> Session:
    tenant_id = member_tenant(route, user)
    if tenant_id is None:
        raise _not_member(user)
    return Session(user.oid, tenant_id, mfa, route.policy)


def _issue(
    ctx: Context,
    req: Request,
    route: Route,
    client: ClientAuth,
    user: User,
    session: Session,
    *,
    scope: str,
    nonce: str | None = None,
    check_faults: bool = True,
    claims: str | None = None,
) -> dict[str, Any]:
    """Check faults (unless the grant did already), consent and MFA for a user grant,
    then answer with tokens."""
    if check_faults:
        apply_fault(ctx, client.app.client_id, user.username, device=False)
    if user.consent_required and not ctx.store.has_consent(user.oid, client.app.client_id):
        raise consent_required_error(client.app.client_id)
    if user.mfa_required and not session.mfa:
        raise mfa_required_error()
    token_request = UserTokenRequest(
        app=client.app,
        user=user,
        session=session,
        grant=resolve_scopes(ctx.config, scope),
        route=route,
        azpacr=client.azpacr,
        client_info=req.param("client_info") == "1",
        nonce=nonce,
        claims=claims if claims is not None else req.param("claims"),
    )
    return user_token_response(ctx, token_request)


def _user_of(ctx: Context, session: Session) -> User:
    user = ctx.config.user_by_oid(session.oid)
    if user is None:
        raise _invalid_grant(50034, "The user account does not exist in the directory.")
    return user


def authorization_code(
    ctx: Context, req: Request, route: Route, client: ClientAuth
) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6)."""
    found = ctx.store.redeem_code(_required(req, "code"))
    if found == "used":
        raise _invalid_grant(54005, "OAuth2 Authorization code was already redeemed.")
    if not isinstance(found, AuthCode) or found.client_id != client.app.client_id:
        raise _invalid_grant(70000, "Provided grant is invalid or malformed.")
    if found.expires_at < ctx.clock():
        raise _invalid_grant(70008, "The provided authorization code has expired.")
    if req.param("redirect_uri") not in (None, found.redirect_uri):
        raise _invalid_grant(
            70000, "The redirect_uri does not match the one of the authorization request."
        )
    if found.code_challenge is not None:
        verifier = (req.param("code_verifier") or "").encode("utf-8")
        if found.code_challenge_method.upper() == "S256":
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        else:
            computed = verifier
        if not hmac.compare_digest(computed, found.code_challenge.encode("utf-8")):
            raise _invalid_grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
    user = _user_of(ctx, found.session)
    scope = req.param("scope") or found.scope
    return _issue(
        ctx,
        req,
        route,
        client,
        user,
        found.session,
        scope=scope,
        nonce=found.nonce,
        claims=req.param("claims") or found.claims,
    )


def refresh_token(ctx: Context, req: Request, route: Route, client: ClientAuth) -> dict[str, Any]:
    """RFC 6749 §6; a family (FOCI) refresh token works for every app of its family."""
    grant = ctx.store.refresh(_required(req, "refresh_token"))
    if grant is None:
        raise _invalid_grant(
            9002313, "Invalid request. Request is malformed or invalid.", suberror="bad_token"
        )
    app = client.app
    same_family = grant.family_id is not None and grant.family_id == app.family_id
    if grant.client_id != app.client_id and not same_family:
        raise _invalid_grant(
            70000,
            "The refresh token was issued to a different client.",
            suberror="client_mismatch",
            extra={"error_additional_info": ["client_mismatch"]},
        )
    user = _user_of(ctx, grant.session)
    session = _session_for(route, user, grant.session.mfa)
    scope = req.param("scope") or _DEFAULT_USER_SCOPE
    if "offline_access" not in scope.lower().split():
        scope += " offline_access"  # a new refresh token on every use (§4.2)
    return _issue(ctx, req, route, client, user, session, scope=scope)


def password(ctx: Context, req: Request, route: Route, client: ClientAuth) -> dict[str, Any]:
    """RFC 6749 §4.3.2 (ROPC); tenant or ``organizations`` routes only."""
    if route.kind in ("common", "consumers"):
        raise OAuthError(
            "invalid_request",
            9001023,
            "The grant type isn't supported over the /common or /consumers endpoints. "
            "Please use the /organizations or tenant-specific endpoint.",
        )
    username, secret = _required(req, "username"), _required(req, "password")
    user = ctx.config.user(username)
    if user is None:
        raise _invalid_grant(50034, "The user account does not exist in the directory.")
    if not hmac.compare_digest(secret.encode("utf-8"), user.password.encode("utf-8")):
        raise _invalid_grant(
            50126, "Error validating credentials due to invalid username or password."
        )
    session = _session_for(route, user)
    return _issue(ctx, req, route, client, user, session, scope=_required(req, "scope"))


def saml_bearer(ctx: Context, req: Request, route: Route, client: ClientAuth) -> dict[str, Any]:
    """RFC 7522 §2.1 (and its SAML 1.1 twin): an assertion the federation server issued."""
    user = redeem_assertion(ctx, _required(req, "assertion"), _required(req, "grant_type"))
    session = _session_for(route, user)
    return _issue(ctx, req, route, client, user, session, scope=_required(req, "scope"))


def device_code(ctx: Context, req: Request, route: Route, client: ClientAuth) -> dict[str, Any]:
    """RFC 8628 §3.4-3.5, under both grant spellings Entra accepts."""
    value = req.param("device_code") or req.param("code")
    if not value:
        raise missing_parameter("device_code")
    device = ctx.store.device(value)
    if device is None or device.client_id != client.app.client_id:
        raise OAuthError("bad_verification_code", 90120, "The device code is not valid.")
    if device.expires_at < ctx.clock():
        raise OAuthError(
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. "
            "This device code has expired.",
        )
    if device.status == "pending":
        raise OAuthError(
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    if device.status == "declined":
        raise OAuthError("authorization_declined", 70018, "The user declined the sign-in.")
    if device.status == "redeemed" or device.session is None:
        raise _invalid_grant(54005, "The device code was already redeemed.")
    user = _user_of(ctx, device.session)
    apply_fault(ctx, client.app.client_id, user.username, device=True)
    if not ctx.store.redeem_device(value):
        raise _invalid_grant(54005, "The device code was already redeemed.")
    return _issue(
        ctx,
        req,
        route,
        client,
        user,
        device.session,
        scope=device.scope,
        claims=device.claims,
        check_faults=False,  # checked above, before the code was redeemed
    )


def client_credentials(
    ctx: Context, req: Request, route: Route, client: ClientAuth
) -> dict[str, Any]:
    """RFC 6749 §4.4.2: an app-only token with the API's app roles."""
    if not client.confidential:
        raise OAuthError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' "
            "or 'client_secret'.",
            status=401,
        )
    grant = resolve_scopes(ctx.config, _required(req, "scope"), app_only=True)
    tenant_id = route.tenant.id if route.tenant is not None else client.app.tenant
    return app_token_response(ctx, client.app, grant, tenant_id, client.azpacr)


def on_behalf_of(ctx: Context, req: Request, route: Route, client: ClientAuth) -> dict[str, Any]:
    """Entra's on-behalf-of flow: exchange a user access token sent to this API."""
    if req.param("requested_token_use") != "on_behalf_of":
        raise OAuthError("invalid_request", 50034, "requested_token_use must be 'on_behalf_of'.")
    if not client.confidential:
        raise OAuthError(
            "invalid_client", 7000218, "On-behalf-of requires a client credential.", status=401
        )
    claims = _verified_assertion(ctx, _required(req, "assertion"))
    aud = claims.get("aud")
    api = ctx.config.api(aud) if isinstance(aud, str) else None
    if api is None or api.client_id != client.app.client_id:
        raise _invalid_grant(
            50013, "Assertion audience does not match the client app presenting the assertion."
        )
    user = ctx.config.user_by_oid(str(claims.get("oid", "")))
    if user is None:
        raise _invalid_grant(50013, "Assertion is not a delegated user access token.")
    amr = claims.get("amr")
    session = Session(
        user.oid, str(claims.get("tid", user.tenant)), isinstance(amr, list) and "mfa" in amr
    )
    if route.tenant is not None:
        session = _session_for(route, user, session.mfa)
    return _issue(ctx, req, route, client, user, session, scope=_required(req, "scope"))


def _verified_assertion(ctx: Context, assertion: str) -> dict[str, Any]:
    try:
        claims = decode_jwt_claims(assertion, "assertion")
    except (ProtocolError, RecursionError):
        raise _invalid_grant(50013, "Assertion is not a valid JWT.") from None
    if not verify_token(assertion, ctx.keys.signing_key.public_key()):
        raise _invalid_grant(50013, "Assertion failed signature validation.")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp < ctx.clock():
        raise _invalid_grant(500133, "Assertion is not within its valid time range.")
    if "nonce" in claims or claims.get("idtyp") == "app" or "scp" not in claims:
        raise _invalid_grant(
            240002,
            "The assertion is an id_token or an app-only token; it cannot be used "
            "as an on-behalf-of grant.",
        )
    return claims


def check_claims(raw: str | None) -> dict[str, Any]:
    """Parse a ``claims`` request parameter (spaces or not; §4.4).

    Raises:
        OAuthError: ``invalid_request`` when it is not a JSON object.
    """
    parsed = json_object(raw) if raw else {}
    if parsed is None:
        raise OAuthError("invalid_request", 90015, "The 'claims' parameter is not a JSON object.")
    return parsed


def user_fic(ctx: Context, req: Request, route: Route, client: ClientAuth) -> dict[str, Any]:
    """Entra's ``user_fic`` grant: a confidential app trades its own instance token (an
    app-only access token this IdP issued to it, unexpired) for a token of the user
    named by ``username`` or ``user_id`` (object id)."""
    if not client.confidential:
        raise OAuthError(
            "invalid_client",
            7000218,
            "The user_fic grant requires a client credential.",
            status=401,
        )
    claims = _instance_token(ctx, _required(req, "user_federated_identity_credential"))
    if claims.get("azp", claims.get("appid")) != client.app.client_id:
        raise _invalid_grant(
            700211, "The federated identity credential was not issued to this client."
        )
    username, oid = req.param("username"), req.param("user_id")
    if bool(username) == bool(oid):
        raise OAuthError("invalid_request", 900144, "Send exactly one of username and user_id.")
    user = ctx.config.user(username) if username else ctx.config.user_by_oid(str(oid))
    if user is None:
        raise _invalid_grant(50034, "The user account does not exist in the directory.")
    session = _session_for(route, user)
    return _issue(ctx, req, route, client, user, session, scope=_required(req, "scope"))


def _instance_token(ctx: Context, token: str) -> dict[str, Any]:
    try:
        claims = decode_jwt_claims(token, "user_federated_identity_credential")
    except (ProtocolError, RecursionError):
        raise _invalid_grant(700211, "The federated identity credential is not a JWT.") from None
    if not verify_token(token, ctx.keys.signing_key.public_key()):
        raise _invalid_grant(700211, "The federated identity credential's signature is invalid.")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp < ctx.clock():
        raise _invalid_grant(700024, "The federated identity credential has expired.")
    if claims.get("idtyp") != "app":
        raise _invalid_grant(700211, "The federated identity credential is not an app token.")
    return claims
