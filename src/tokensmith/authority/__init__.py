"""Authorities: parsing, OpenID Connect discovery, Entra instance discovery.

MSAL code does ``from msal.authority import AuthorityBuilder, AZURE_PUBLIC``; the same
names are here. Nothing in this package does I/O at import or construction time.
"""

from __future__ import annotations

from tokensmith.authority.authority import Authority, Resolver
from tokensmith.authority.discovery import AuthorityMetadata, discover
from tokensmith.authority.parse import (
    AuthorityBuilder,
    AuthorityKind,
    AuthoritySpec,
    parse_authority,
)
from tokensmith.authority.resolve import resolve_alias_groups, resolve_metadata
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
