"""URL routing: which endpoint answers a path (reference/entra-protocol.md §11.2).

Tenant-scoped paths, for a tenant segment ``{t}`` (GUID, domain, ``common``,
``organizations``, ``consumers``), an optional B2C policy ``{p}`` (``B2C_...``; the
legacy ``/tfp/`` prefix is accepted) and AD FS (``/adfs/...`` without ``v2.0``)::

    /{t}[/{p}]/v2.0/.well-known/openid-configuration      /adfs/.well-known/openid-configuration
    /{t}[/{p}]/discovery/v2.0/keys                        /adfs/discovery/keys
    /{t}[/{p}]/oauth2/v2.0/{authorize|token|devicecode|logout}
                                                          /adfs/oauth2/{...}

Global paths: ``/common/discovery/instance``, ``/common/userrealm/{upn}``,
``/devicelogin``, ``/error``, the admin API under ``/_devidp/``, the managed-identity
sources (:mod:`tokensmith.devidp.managed_identity`) and the federation server of the
federated domains (``/federation/{domain}/adfs/services/trust/...``,
:mod:`tokensmith.devidp.federation`).
"""

from __future__ import annotations

from collections.abc import Callable

from tokensmith.devidp import admin, discovery, federation, managed_identity
from tokensmith.devidp.authorize import authorize
from tokensmith.devidp.context import Context
from tokensmith.devidp.device import VERIFICATION_PATH, device_login, devicecode
from tokensmith.devidp.errors import OAuthError
from tokensmith.devidp.pages import error_page
from tokensmith.devidp.tenancy import Route, resolve
from tokensmith.devidp.token_endpoint import token
from tokensmith.devidp.wire import Request, Response

__all__ = ["dispatch"]

Endpoint = Callable[[Context, Request, Route], Response]

_OAUTH: dict[str, Endpoint] = {
    "authorize": authorize,
    "token": token,
    "devicecode": devicecode,
    "logout": lambda ctx, req, route: discovery.logout(ctx, req),
}

_TAILS: dict[tuple[str, ...], Endpoint] = {
    ("v2.0", ".well-known", "openid-configuration"): (
        lambda ctx, req, route: discovery.openid_configuration(ctx, route)
    ),
    (".well-known", "openid-configuration"): (
        lambda ctx, req, route: discovery.openid_configuration(ctx, route)
    ),
    ("discovery", "v2.0", "keys"): lambda ctx, req, route: discovery.jwks(ctx, route),
    ("discovery", "keys"): lambda ctx, req, route: discovery.jwks(ctx, route),
}


def _not_found(path: str) -> OAuthError:
    """An unknown path: 404 in Entra's error shape (no AADSTS code)."""
    return OAuthError("not_found", 0, f"No dev-idp endpoint at {path[:200]!a}.", status=404)


def _error_code(raw: str) -> int:
    """The ``code`` of ``/error?code=``: a small decimal number, else 0."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0


def _endpoint(rest: tuple[str, ...]) -> Endpoint | None:
    if rest[:1] == ("oauth2",):
        tail = rest[2:] if rest[1:2] == ("v2.0",) else rest[1:]
        return _OAUTH.get(tail[0]) if len(tail) == 1 else None
    return _TAILS.get(rest)


def _tenant_scoped(ctx: Context, req: Request, segments: list[str]) -> Response:
    if segments and segments[0].lower() == "tfp":
        segments = segments[1:]
    if not segments:
        raise _not_found(req.path)
    tenant, rest = segments[0], segments[1:]
    policy = None
    if rest and rest[0].lower().startswith("b2c_"):
        policy, rest = rest[0], rest[1:]
    endpoint = _endpoint(tuple(rest))
    if endpoint is None:
        raise _not_found(req.path)
    try:
        route = resolve(ctx, tenant, policy)
    except OAuthError as err:
        if endpoint is authorize:
            return error_page(err.code, err.message)
        raise
    return endpoint(ctx, req, route)


def dispatch(ctx: Context, req: Request) -> Response:
    """Answer one request.

    Raises:
        OAuthError: rendered by the server in Entra's JSON error shape.
    """
    segments = [s for s in req.path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if lowered[:3] == ["common", "discovery", "instance"] and len(segments) == 3:
        return discovery.instance_discovery(ctx, req)
    if lowered[:2] == ["common", "userrealm"] and len(segments) == 3:
        return discovery.user_realm(ctx, segments[2])
    if req.path.rstrip("/") == VERIFICATION_PATH:
        return device_login(ctx, req)
    if lowered[:1] == ["_devidp"]:
        response = admin.handle(ctx, req, segments[1:])
        if response is None:
            raise _not_found(req.path)
        return response
    answer = managed_identity.handle(ctx, req, lowered) or federation.handle(ctx, req, lowered)
    if answer is not None:
        return answer
    if lowered == ["error"]:
        code = req.query.get("code", "")
        return error_page(_error_code(code), "See the error code.", 200)
    return _tenant_scoped(ctx, req, segments)
