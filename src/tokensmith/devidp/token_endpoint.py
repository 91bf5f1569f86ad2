"""``POST /{tenant}/oauth2/v2.0/token``: client authentication, fault switches and the
dispatch to one function per grant (reference/entra-protocol.md §4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokensmith.devidp import binding, grants
from tokensmith.devidp.clientauth import ClientAuth, authenticate_client
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError, missing_parameter
from tokensmith.devidp.tenancy import Route
from tokensmith.devidp.wire import Request, Response, json_response

__all__ = ["DEVICE_GRANTS", "token"]

Grant = Callable[[Context, Request, Route, ClientAuth], dict[str, Any]]

DEVICE_GRANTS = ("urn:ietf:params:oauth:grant-type:device_code", "device_code")

_GRANTS: dict[str, Grant] = {
    "authorization_code": grants.authorization_code,
    "refresh_token": grants.refresh_token,
    "password": grants.password,
    "client_credentials": grants.client_credentials,
    "urn:ietf:params:oauth:grant-type:jwt-bearer": grants.on_behalf_of,
    DEVICE_GRANTS[0]: grants.device_code,
    DEVICE_GRANTS[1]: grants.device_code,
    "user_fic": grants.user_fic,
    "urn:ietf:params:oauth:grant-type:saml1_1-bearer": grants.saml_bearer,
    "urn:ietf:params:oauth:grant-type:saml2-bearer": grants.saml_bearer,
}


def token(ctx: Context, req: Request, route: Route) -> Response:
    """Answer a token request.

    Raises:
        OAuthError: every protocol error, rendered by the server in Entra's shape.
    """
    if req.method != "POST":
        raise OAuthError("invalid_request", 900561, "The endpoint only accepts POST requests.")
    grant_type = req.param("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    if req.param("resource") and route.kind != "adfs":
        raise OAuthError(
            "invalid_request", 901002, "The 'resource' request parameter is not supported."
        )
    grant = _GRANTS.get(grant_type)
    if grant is None:
        raise OAuthError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    if req.param("claims"):
        grants.check_claims(req.param("claims"))
    client = authenticate_client(ctx, req)
    grants.apply_fault(ctx, client.app.client_id, None, grant_type in DEVICE_GRANTS)
    bound_to = binding.requested(ctx, req)  # DPoP proof / PoP req_cnf (devidp/binding.py)
    return json_response(binding.bind(ctx, bound_to, grant(ctx, req, route, client), client))
