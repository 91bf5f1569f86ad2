"""Scope resolution at the token endpoint (reference/entra-protocol.md §4.1).

All non-OIDC scopes of one request must belong to one resource; ``{resource}/.default``
means every permission of that resource; a bare scope name (``User.Read``) and a bare
``.default`` mean Microsoft Graph.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tokensmith.devidp.config import Api, DevIdPConfig
from tokensmith.devidp.errors import OAuthError

__all__ = ["OIDC_SCOPES", "ScopeGrant", "resolve_scopes"]

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
GRAPH = "https://graph.microsoft.com"


@dataclass(frozen=True)
class ScopeGrant:
    """The outcome of scope resolution.

    Attributes:
        api: the resource the access token is for.
        permissions: delegated scope names (``scp``) or app roles (``roles``).
        oidc: the OIDC scopes requested (``openid``, ``offline_access``, ...).
    """

    api: Api
    permissions: tuple[str, ...]
    oidc: frozenset[str]

    def response_scope(self) -> str:
        """The ``scope`` member of a user-token response."""
        if self.api.app_id_uri.rstrip("/").lower() == GRAPH:
            names = list(self.permissions)
        else:
            names = [f"{self.api.app_id_uri.rstrip('/')}/{p}" for p in self.permissions]
        names += [s for s in ("profile", "openid", "email") if s in self.oidc]
        return " ".join(names)


def _split(token: str) -> tuple[str, str]:
    """``(resource, permission)`` of one scope token."""
    if "/" not in token:
        if _is_guid(token):
            return token, ".default"  # a client id used as scope means its default
        return GRAPH, token
    resource, _, name = token.rpartition("/")
    return resource, name


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def resolve_scopes(config: DevIdPConfig, scope: str, *, app_only: bool = False) -> ScopeGrant:
    """Resolve a space-separated scope string.

    Args:
        config: where the APIs are registered.
        scope: the request's ``scope`` parameter.
        app_only: client credentials: exactly one ``{resource}/.default`` is required.

    Raises:
        OAuthError: ``invalid_scope`` or ``invalid_resource``, with Entra's AADSTS codes.
    """
    tokens = scope.split()
    oidc = frozenset(t.lower() for t in tokens if t.lower() in OIDC_SCOPES)
    rest = [t for t in tokens if t.lower() not in OIDC_SCOPES]
    if app_only and (len(rest) != 1 or not rest[0].endswith("/.default")):
        raise OAuthError(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows "
            "must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    if not rest:
        api = config.api(GRAPH) or config.apis[0] if config.apis else None
        if api is None:
            raise OAuthError("invalid_scope", 70011, "No resource is configured.")
        return ScopeGrant(api, api.scopes[:1], oidc)
    pairs = [_split(t) for t in rest]
    resources = {r.rstrip("/").lower() for r, _ in pairs}
    if len(resources) > 1:
        raise OAuthError(
            "invalid_scope",
            700022,
            "The provided value for the input parameter scope is not valid because it "
            "contains more than one resource.",
        )
    resource = pairs[0][0]
    api = config.api(resource)
    if api is None:
        raise OAuthError(
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant. This can "
            "happen if the application has not been installed by the administrator of the "
            "tenant or consented to by any user in the tenant.",
        )
    available = api.app_roles if app_only else api.scopes
    if any(name == ".default" for _, name in pairs):
        return ScopeGrant(api, available, oidc)
    by_lower = {s.lower(): s for s in api.scopes}
    granted: list[str] = []
    for token, (_, name) in zip(rest, pairs, strict=True):
        if name.lower() not in by_lower:
            raise OAuthError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. "
                f"The scope '{token}' does not exist.",
            )
        granted.append(by_lower[name.lower()])
    return ScopeGrant(api, tuple(dict.fromkeys(granted)), oidc)
