"""Tenant path segments: GUID, domain, ``common``, ``organizations``, ``consumers``,
B2C policies and AD FS (reference/entra-protocol.md §1.1-§1.3, §9).

Endpoints addressed by a domain are published with the tenant GUID; ``common`` and
``organizations`` keep their literal segment and publish the ``{tenantid}`` issuer
template.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokensmith.devidp.config import Tenant, User
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError

__all__ = ["MSA_TENANT_ID", "Route", "issuer", "member_tenant", "prefix", "resolve"]

MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
_MULTI = ("common", "organizations", "consumers")


@dataclass(frozen=True)
class Route:
    """Where a request was addressed.

    Attributes:
        segment: the tenant segment as the client wrote it.
        kind: ``tenant``, ``common``, ``organizations``, ``consumers`` or ``adfs``.
        tenant: the directory for ``tenant`` and ``adfs`` routes.
        policy: the B2C policy segment, if any.
    """

    segment: str
    kind: str
    tenant: Tenant | None = None
    policy: str | None = None

    @property
    def published_segment(self) -> str:
        """The segment used in published endpoints (tenant GUID when resolvable)."""
        if self.kind == "adfs":
            return "adfs"
        return self.tenant.id if self.tenant is not None else self.segment.lower()


def resolve(ctx: Context, segment: str, policy: str | None = None) -> Route:
    """Resolve a tenant segment.

    Raises:
        OAuthError: ``invalid_tenant`` (AADSTS90002) for an unknown tenant.
    """
    lowered = segment.lower()
    if lowered == "adfs":
        return Route(segment, "adfs", ctx.config.tenants[0])
    if lowered in _MULTI:
        return Route(segment, lowered, None, policy)
    tenant = ctx.config.tenant(segment)
    if tenant is None:
        raise OAuthError(
            "invalid_tenant",
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return Route(segment, "tenant", tenant, policy)


def prefix(ctx: Context, route: Route) -> str:
    """Base URL of the route's endpoints, e.g. ``https://127.0.0.1:8443/<guid>``."""
    out = f"{ctx.base_url}/{route.published_segment}"
    return f"{out}/{route.policy}" if route.policy else out


def issuer(ctx: Context, route: Route, tenant_id: str | None = None) -> str:
    """The issuer for tokens of ``tenant_id`` (or the template, for multi-tenant routes)."""
    if route.kind == "adfs":
        return f"{ctx.base_url}/adfs"
    if tenant_id is None:
        if route.kind == "consumers":
            tenant_id = MSA_TENANT_ID
        elif route.tenant is not None:
            tenant_id = route.tenant.id
        else:
            tenant_id = "{tenantid}"
    if route.policy:
        return f"{ctx.base_url}/{tenant_id}/v2.0/"
    return f"{ctx.base_url}/{tenant_id}/v2.0"


def member_tenant(route: Route, user: User) -> str | None:
    """The tenant a user's tokens are issued for on this route, or None if not a member.

    ``common``/``organizations`` sign users into their home tenant; a tenant route
    accepts members and guests; ``consumers`` has no work accounts.
    """
    if route.kind in ("common", "organizations"):
        return user.tenant
    if route.tenant is None:
        return None
    if route.kind == "adfs" or route.tenant.id in (user.tenant, *user.tenants):
        return route.tenant.id
    return None
