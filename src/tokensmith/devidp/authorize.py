"""``/{tenant}/oauth2/v2.0/authorize``: sign-in, simulated MFA, consent and the
redirect back (RFC 6749 §4.1.1-§4.1.2, OAuth 2.0 Form Post Response Mode; Entra's
shape from reference/entra-protocol.md §3).

A bad ``client_id`` or ``redirect_uri`` is shown as an error page (Entra never
redirects to an unverified URI); every other error goes back to the app with
``error``, ``error_description`` and the ``state``. A redirect URI registered without a
path is answered with a trailing slash; ``http://localhost`` and ``127.0.0.1`` match
on any port.
"""

from __future__ import annotations

import hmac
import re
import uuid
from urllib.parse import urlsplit

from tokensmith.devidp.config import App, User
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError
from tokensmith.devidp.pages import consent_page, error_page, form_post_page, login_page, mfa_page
from tokensmith.devidp.state import AuthCode, PendingSignIn, Session
from tokensmith.devidp.tenancy import Route, member_tenant, resolve
from tokensmith.devidp.tokens import client_info
from tokensmith.devidp.wire import Request, Response, json_object, redirect

__all__ = ["authorize", "redirect_uri_matches"]

_PENDING_LIFETIME = 900.0
_CODE_LIFETIME = 600.0
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact match, except that loopback ``http`` URIs match on any port (§3.1).

    A requested URI with whitespace, control or non-ASCII characters, or a fragment
    (RFC 6749 §3.1.2), never matches: it would end up in the ``Location`` header.
    """
    if not requested or not all(33 <= ord(c) <= 126 for c in requested):
        return False
    if registered == requested:
        return True
    try:
        reg, req = urlsplit(registered), urlsplit(requested)
        reg.port, req.port  # noqa: B018 - ports must parse
    except ValueError:
        return False
    return (
        reg.scheme == req.scheme == "http"
        and reg.hostname in _LOOPBACK
        and reg.hostname == req.hostname
        and reg.path.rstrip("/") == req.path.rstrip("/")
        and reg.query == req.query
        and not req.fragment
        and "#" not in requested
    )


def _client(ctx: Context, params: dict[str, str]) -> tuple[App, str] | Response:
    client_id = params.get("client_id", "")
    if not client_id:
        return error_page(
            900144, "The request body must contain the following parameter: 'client_id'."
        )
    app = ctx.config.app(client_id)
    if app is None:
        return error_page(
            700016, f"Application with identifier '{client_id}' was not found in the directory."
        )
    requested = params.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
    if not any(redirect_uri_matches(r, requested) for r in app.redirect_uris):
        return error_page(
            50011,
            f"The redirect URI '{requested}' specified in the request does not match the "
            f"redirect URIs configured for the application '{client_id}'.",
        )
    return app, requested


def _back(redirect_uri: str, params: dict[str, str], mode: str) -> Response:
    """Send the authorization response to the app in the requested response mode."""
    if mode == "form_post":
        return form_post_page(redirect_uri, params)
    target = redirect_uri + "/" if urlsplit(redirect_uri).path == "" else redirect_uri
    return redirect(target, params, fragment=mode == "fragment")


def _error_back(
    redirect_uri: str, request: dict[str, str], err: OAuthError, subcode: str | None = None
) -> Response:
    params = {"error": err.error, "error_description": f"AADSTS{err.code}: {err.message}"}
    if subcode:
        params["error_subcode"] = subcode
    if "state" in request:
        params["state"] = request["state"]
    return _back(redirect_uri, params, request.get("response_mode", "query"))


def _precheck(params: dict[str, str]) -> OAuthError | None:
    """Errors of a well-addressed request, reported back to the app."""
    if params.get("response_type") != "code":
        return OAuthError(
            "unsupported_response_type",
            700054,
            f"response_type '{params.get('response_type', '')}' is not supported; use 'code'.",
        )
    if not params.get("scope"):
        return OAuthError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )
    if params.get("response_mode", "query") not in ("query", "fragment", "form_post"):
        return OAuthError("invalid_request", 900352, "Invalid response_mode.")
    method = params.get("code_challenge_method", "plain")
    challenge = params.get("code_challenge")
    if challenge is not None and method not in ("S256", "plain"):
        return OAuthError("invalid_request", 501491, "Invalid code_challenge_method.")
    if challenge is not None and not _PKCE_VALUE.fullmatch(challenge):
        return OAuthError(  # RFC 7636 §4.2: 43-128 unreserved characters
            "invalid_request", 501491, "Invalid size of Code_Challenge parameter."
        )
    if params.get("claims") and json_object(params["claims"]) is None:
        return OAuthError("invalid_request", 90015, "The 'claims' parameter is not JSON.")
    if params.get("prompt") == "none":
        return OAuthError(
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        )
    return None


def authorize(ctx: Context, req: Request, route: Route) -> Response:
    """Start a sign-in (GET, or POST without ``ctx``) or continue one (POST with ``ctx``)."""
    if req.method == "POST" and req.form.get("ctx"):
        return _continue(ctx, req, req.form["ctx"])
    params = dict(req.query)
    if req.method == "POST":
        params.update(req.form)
    checked = _client(ctx, params)
    if isinstance(checked, Response):
        return checked
    app, redirect_uri = checked
    params["redirect_uri"] = redirect_uri
    problem = _precheck(params)
    if problem is not None:
        return _error_back(redirect_uri, params, problem)
    pending = PendingSignIn(params, route.segment, route.policy, ctx.clock() + _PENDING_LIFETIME)
    key = ctx.store.add_pending(pending)
    return login_page(
        req.path,
        {"ctx": key},
        app_name=app.name,
        login_hint=params.get("login_hint", ""),
        error=None,
    )


def _needs_mfa(user: User, params: dict[str, str]) -> bool:
    """MFA for users configured so, and whenever a claims challenge asks for more."""
    if user.mfa_required:
        return True
    requested = json_object(params.get("claims") or "{}") or {}
    access = requested.get("access_token", {})
    return isinstance(access, dict) and bool(set(access) - {"xms_cc"})


def _continue(ctx: Context, req: Request, key: str) -> Response:
    pending = ctx.store.pending(key, ctx.clock())
    if pending is None:
        return error_page(50058, "The sign-in session expired; start again from the app.")
    params = pending.params
    app = ctx.config.app(params["client_id"])
    if app is None:  # pragma: no cover - checked when the sign-in started
        return error_page(700016, "The application is no longer configured.")
    step = req.form.get("step", "")
    fields = {"ctx": key}
    if step == "decline":
        ctx.store.drop_pending(key)
        err = OAuthError("access_denied", 65004, "User declined to consent to access the app.")
        return _error_back(params["redirect_uri"], params, err, "cancel")
    if step == "login":
        user = ctx.config.user(req.form.get("login", ""))
        typed = req.form.get("passwd", "").encode("utf-8")
        if user is None or not hmac.compare_digest(typed, user.password.encode("utf-8")):
            message = "Your account or password is incorrect."
            return login_page(req.path, fields, app_name=app.name, login_hint="", error=message)
        try:
            route = resolve(ctx, pending.segment, pending.policy)
        except OAuthError as err:
            return error_page(err.code, err.message)
        if member_tenant(route, user) is None:
            message = f"User account '{user.username}' does not exist in this tenant."
            return login_page(req.path, fields, app_name=app.name, login_hint="", error=message)
        pending.oid = user.oid
    elif step == "mfa" and pending.oid is not None:
        pending.mfa = True
    elif step == "consent" and pending.oid is not None:
        ctx.store.grant_consent(pending.oid, app.client_id)
    else:
        return login_page(req.path, fields, app_name=app.name, login_hint="", error=None)
    return _next(ctx, req, key, pending, app)


def _next(ctx: Context, req: Request, key: str, pending: PendingSignIn, app: App) -> Response:
    """Show the next page the sign-in needs, or finish it."""
    assert pending.oid is not None
    user = ctx.config.user_by_oid(pending.oid)
    if user is None:  # pragma: no cover - users do not disappear at run time
        return error_page(50034, "The user account does not exist in the directory.")
    params, fields = pending.params, {"ctx": key}
    if _needs_mfa(user, params) and not pending.mfa:
        return mfa_page(req.path, fields, user.username)
    wants_consent = params.get("prompt") == "consent" and _not_just_consented(req)
    if wants_consent or (
        user.consent_required and not ctx.store.has_consent(user.oid, app.client_id)
    ):
        return consent_page(
            req.path, fields, app_name=app.name, permissions=params["scope"].split()
        )
    ctx.store.drop_pending(key)
    route = resolve(ctx, pending.segment, pending.policy)
    tenant_id = member_tenant(route, user) or user.tenant
    code = AuthCode(
        client_id=app.client_id,
        redirect_uri=params["redirect_uri"],
        scope=params["scope"],
        session=Session(user.oid, tenant_id, pending.mfa, pending.policy),
        expires_at=ctx.clock() + _CODE_LIFETIME,
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method", "plain"),
        claims=params.get("claims"),
    )
    answer = {"code": ctx.store.add_code(code)}
    if params.get("client_info") == "1":
        answer["client_info"] = client_info(user, pending.policy)
    if "state" in params:
        answer["state"] = params["state"]
    answer["session_state"] = str(uuid.uuid4())
    return _back(params["redirect_uri"], answer, params.get("response_mode", "query"))


def _not_just_consented(req: Request) -> bool:
    """``prompt=consent`` shows the consent page once, until the user accepts it."""
    return req.form.get("step") != "consent"
