"""Device authorization (RFC 8628 §3.1-§3.3; Entra's shape from
reference/entra-protocol.md §5): ``/{tenant}/oauth2/v2.0/devicecode`` and the
verification page ``/devicelogin`` where a person enters the code and signs in.

With ``device_code_auto_complete_user`` set (config or run time), every new device
authorization is approved at once as that user: unattended demos and tests.
"""

from __future__ import annotations

import hmac
import secrets
import string

from tokensmith.devidp.config import User
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError, missing_parameter
from tokensmith.devidp.pages import device_page
from tokensmith.devidp.scopes import resolve_scopes
from tokensmith.devidp.state import DeviceCode, Session
from tokensmith.devidp.tenancy import Route, member_tenant, resolve
from tokensmith.devidp.wire import Request, Response, json_response

__all__ = ["VERIFICATION_PATH", "approve", "device_login", "devicecode"]

VERIFICATION_PATH = "/devicelogin"
_ALPHABET = string.ascii_uppercase + string.digits


def devicecode(ctx: Context, req: Request, route: Route) -> Response:
    """Start a device authorization and return the codes."""
    if req.method != "POST":
        raise OAuthError("invalid_request", 900561, "The endpoint only accepts POST requests.")
    client_id = req.param("client_id")
    if not client_id:
        raise missing_parameter("client_id")
    if ctx.config.app(client_id) is None:
        raise OAuthError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory.",
        )
    scope = req.param("scope")
    if not scope:
        raise missing_parameter("scope")
    resolve_scopes(ctx.config, scope)
    settings = ctx.config.settings
    device = DeviceCode(
        device_code="DAQAB." + secrets.token_urlsafe(48),
        user_code="".join(secrets.choice(_ALPHABET) for _ in range(9)),
        client_id=client_id,
        scope=scope,
        tenant_segment=route.segment,
        expires_at=ctx.clock() + settings.device_code_expires_in,
        claims=req.param("claims"),
    )
    ctx.store.add_device(device)
    auto = ctx.config.user(ctx.device_code_auto_complete_user or "")
    if auto is not None:
        approve(ctx, device, auto)
    uri = ctx.base_url + VERIFICATION_PATH
    return json_response(
        {
            "user_code": device.user_code,
            "device_code": device.device_code,
            "verification_uri": uri,
            "expires_in": settings.device_code_expires_in,
            "interval": settings.device_code_interval,
            "message": (
                f"To sign in, use a web browser to open the page {uri} and enter the code "
                f"{device.user_code} to authenticate."
            ),
        }
    )


def approve(ctx: Context, device: DeviceCode, user: User) -> str | None:
    """Approve a pending device authorization as ``user``; return a problem, or None.

    Signing in on the device page counts as full (multi-factor) authentication and as
    consent to the app.
    """
    try:
        route = resolve(ctx, device.tenant_segment)
    except OAuthError as err:
        return err.message
    tenant_id = member_tenant(route, user)
    if tenant_id is None:
        return f"User account '{user.username}' does not exist in this tenant."
    if device.expires_at < ctx.clock():
        return "The code has expired. Start the sign-in again on your device."
    ctx.store.grant_consent(user.oid, device.client_id)
    session = Session(user.oid, tenant_id, mfa=True)
    if not ctx.store.settle_device(device.device_code, "approved", session):
        return "This code was already used."
    return None


def device_login(ctx: Context, req: Request) -> Response:
    """``GET``/``POST /devicelogin``: the code entry and sign-in page."""
    action = VERIFICATION_PATH
    if req.method != "POST":
        return device_page(action, user_code=req.query.get("otc", ""), message=None, done=False)
    user_code = req.form.get("otc", "")
    device = ctx.store.device_by_user_code(user_code)
    if device is None:
        message = "That code was not recognised or has already been used."
        return device_page(action, user_code=user_code, message=message, done=False)
    if req.form.get("step") == "decline":
        ctx.store.settle_device(device.device_code, "declined", None)
        return device_page(action, user_code="", message="Sign-in cancelled.", done=True)
    user = ctx.config.user(req.form.get("login", ""))
    typed = req.form.get("passwd", "").encode("utf-8")
    if user is None or not hmac.compare_digest(typed, user.password.encode("utf-8")):
        message = "Your account or password is incorrect."
        return device_page(action, user_code=user_code, message=message, done=False)
    problem = approve(ctx, device, user)
    if problem is not None:
        return device_page(action, user_code=user_code, message=problem, done=False)
    app = ctx.config.app(device.client_id)
    name = app.name if app is not None else device.client_id
    message = f"You have signed in to {name} on your device."
    return device_page(action, user_code="", message=message, done=True)
