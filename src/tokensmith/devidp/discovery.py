"""Metadata endpoints: OIDC discovery (OpenID Connect Discovery 1.0 §4; Entra's shape
from reference/entra-protocol.md §1.3), JWKS (RFC 7517 §5; §1.4), instance discovery
(§2), user realm discovery (§4.2 ROPC) and the logout endpoint (§9.1).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from tokensmith._jwt import b64url_encode
from tokensmith.devidp import federation
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError
from tokensmith.devidp.tenancy import Route, issuer, prefix
from tokensmith.devidp.wire import Request, Response, html_page, json_response, redirect

__all__ = ["instance_discovery", "jwks", "logout", "openid_configuration", "user_realm"]

_CLAIMS = [
    "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
    "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
    "name", "tid", "ver", "at_hash", "c_hash", "email",
]  # fmt: skip


def openid_configuration(ctx: Context, route: Route) -> Response:
    """The discovery document of a tenant, multi-tenant, B2C or AD FS route."""
    base = prefix(ctx, route)
    v2 = "" if route.kind == "adfs" else "/v2.0"
    doc: dict[str, Any] = {
        "token_endpoint": f"{base}/oauth2{v2}/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery{v2}/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(ctx, route),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2{v2}/authorize",
        "device_authorization_endpoint": f"{base}/oauth2{v2}/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2{v2}/logout",
        "claims_supported": _CLAIMS,
        "tenant_region_scope": "WW" if route.tenant is not None else None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    if route.policy:
        doc["scopes_supported"] = ["openid"]
        doc["token_endpoint_auth_methods_supported"] = []
        doc["claims_supported"] = [
            "oid", "sub", "newUser", "name", "emails", "idp", "tfp", "iss", "iat", "exp",
            "aud", "acr", "nonce", "auth_time",
        ]  # fmt: skip
    if route.kind == "adfs":
        doc["issuer"] = f"{ctx.base_url}/adfs"
    return json_response(doc, cacheable=True)


def jwks(ctx: Context, route: Route) -> Response:
    """The signing keys; ``kid`` = ``x5t``, ``x5c`` holds the standard-base64 DER cert."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    numbers: RSAPublicNumbers = ctx.keys.signing_key.public_key().public_numbers()

    def _b64_int(value: int) -> str:
        return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    key = {
        "kty": "RSA",
        "use": "sig",
        "kid": ctx.keys.kid,
        "x5t": ctx.keys.kid,
        "n": _b64_int(numbers.n),
        "e": _b64_int(numbers.e),
        "x5c": [base64.b64encode(ctx.keys.signing_cert_der).decode("ascii")],
        "cloud_instance_name": "microsoftonline.com",
        "issuer": issuer(ctx, route),
    }
    return json_response({"keys": [key]}, cacheable=True)


def _known_hosts(ctx: Context) -> set[str]:
    ours = urlsplit(ctx.base_url)
    hosts = {ours.netloc.lower(), (ours.hostname or "").lower(), "localhost", "127.0.0.1"}
    return hosts | {h.lower() for h in ctx.config.settings.known_hosts}


def instance_discovery(ctx: Context, req: Request) -> Response:
    """``GET /common/discovery/instance``: ``invalid_instance`` for hosts it does not know."""
    endpoint = req.query.get("authorization_endpoint", "")
    unknown = OAuthError("invalid_instance", 50049, "Unknown or invalid instance.")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - the port must parse
    except ValueError:
        raise unknown from None
    known = _known_hosts(ctx)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise unknown
    if parts.netloc.lower() not in known and parts.hostname not in known:
        raise unknown
    segment = parts.path.strip("/").split("/")[0] or "common"
    host = parts.netloc
    return json_response(
        {
            "tenant_discovery_endpoint": (
                f"{parts.scheme}://{host}/{segment}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": req.query.get("api-version", "1.1"),
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        },
        cacheable=True,
    )


def user_realm(ctx: Context, username: str) -> Response:
    """``GET /common/userrealm/{upn}``: ``Federated`` for a federated domain's names,
    ``Managed`` for configured users, else ``Unknown``."""
    federated = federation.user_realm(ctx, username)
    if federated is not None:
        return json_response(federated)
    user = ctx.config.user(username)
    body: dict[str, Any] = {
        "ver": "1.0",
        "account_type": "Managed" if user is not None else "Unknown",
        "domain_name": username.rpartition("@")[2],
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    }
    return json_response(body)


def logout(ctx: Context, req: Request) -> Response:
    """End-session: redirect to a registered ``post_logout_redirect_uri``, else a page."""
    target = req.param("post_logout_redirect_uri")
    registered = {uri for app in ctx.config.apps for uri in app.redirect_uris}
    if target and target in registered:
        state = req.param("state")
        return redirect(target, {"state": state} if state else None)
    return html_page("Signed out", "<p>You have signed out of the tokensmith dev IdP.</p>")
