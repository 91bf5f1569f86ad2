"""Authorities: parsing, OpenID Connect discovery, Entra instance discovery.

MSAL code does ``from msal.authority import AuthorityBuilder, AZURE_PUBLIC``; the same
names are here. Nothing in this package does I/O at import or construction time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith._lazy import lazy_names
from tokensmith.authority.authority import Authority, Resolver
from tokensmith.authority.parse import (
    AuthorityBuilder,
    AuthorityKind,
    AuthoritySpec,
    parse_authority,
)
from tokensmith.entra.hosts import (
    AZURE_GOV_DE,
    AZURE_GOV_FR,
    AZURE_GOV_SG,
    AZURE_PUBLIC,
    AZURE_US_GOVERNMENT,
    DEPRECATED_AZURE_CHINA,
    WELL_KNOWN_AUTHORITY_HOSTS,
    WELL_KNOWN_B2C_HOSTS,
    WORLD_WIDE,
)

if TYPE_CHECKING:
    from tokensmith.authority.discovery import AuthorityMetadata, discover
    from tokensmith.authority.resolve import resolve_alias_groups, resolve_metadata

__all__ = [
    "AZURE_GOV_DE",
    "AZURE_GOV_FR",
    "AZURE_GOV_SG",
    "AZURE_PUBLIC",
    "AZURE_US_GOVERNMENT",
    "DEPRECATED_AZURE_CHINA",
    "WELL_KNOWN_AUTHORITY_HOSTS",
    "WELL_KNOWN_B2C_HOSTS",
    "WORLD_WIDE",
    "Authority",
    "AuthorityBuilder",
    "AuthorityKind",
    "AuthorityMetadata",
    "AuthoritySpec",
    "Resolver",
    "discover",
    "parse_authority",
    "resolve_alias_groups",
    "resolve_metadata",
]

_ON_FIRST_USE = {
    "AuthorityMetadata": "tokensmith.authority.discovery",
    "discover": "tokensmith.authority.discovery",
    "resolve_alias_groups": "tokensmith.authority.resolve",
    "resolve_metadata": "tokensmith.authority.resolve",
}
"""Discovery's names, loaded on first use: an application answered from its cache
parses its authority but never discovers it (docs/performance.md, "CLI process")."""


__getattr__ = lazy_names(__name__, _ON_FIRST_USE, globals())
