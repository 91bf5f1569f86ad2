"""Entra's tenant rules that decide things without asking the network.

For an Entra authority whose tenant is a GUID or one of ``common`` /
``organizations`` / ``consumers``, the cache ``realm`` (MSAL's tenant segment of the
token endpoint) is the tenant itself, lower-cased: discovery would give back the same
segment. Knowing it up front keeps a silent cache hit free of network I/O. A domain
tenant (``contoso.onmicrosoft.com``) becomes a GUID only through discovery.

FOCI: Microsoft's "family of client IDs" share refresh tokens; the one family Entra
has is ``"1"``, and an app that does not know yet whether it is in the family tries the
family's refresh tokens, stopping at the first ``client_mismatch`` answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith._guid import is_guid

__all__ = [
    "FAMILY_ID",
    "TENANTLESS",
    "is_client_mismatch",
    "is_multi_tenant",
    "static_realm",
]

TENANTLESS = frozenset({"common", "organizations", "consumers"})
"""Tenant segments that name no single tenant."""

FAMILY_ID = "1"
"""The family id Entra gives the Microsoft first-party apps of the family."""


def static_realm(tenant: str | None) -> str | None:
    """The cache realm of an Entra tenant segment when it is known without discovery
    (a GUID, ``common``, ``organizations``, ``consumers``), else None."""
    if not tenant:
        return None
    if tenant.lower() in TENANTLESS or is_guid(tenant):
        return tenant.lower()
    return None


def is_multi_tenant(tenant: str | None) -> bool:
    """True for ``common`` and ``organizations`` (unreliable for app-only tokens)."""
    return (tenant or "").lower() in ("common", "organizations")


def is_client_mismatch(error: Mapping[str, Any]) -> bool:
    """True when a family refresh token was refused because this client is not in the
    family (``error_additional_info`` lists ``client_mismatch``)."""
    info = error.get("error_additional_info")
    return isinstance(info, (list, tuple, str)) and "client_mismatch" in info
