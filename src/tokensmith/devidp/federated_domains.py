"""``[[federated_domains]]``: domains whose users sign in at a federation server.

For such a domain user realm discovery answers ``account_type: Federated``, and the
dev IdP also plays the federation server (AD FS): a MEX document and WS-Trust 1.3 and
2005 endpoints (:mod:`tokensmith.devidp.federation`). The domain's users are ordinary
``[[users]]`` whose username ends with ``@<domain>``.

::

    [[federated_domains]]
    domain = "corp.contoso.example"
    token_type = "saml1.1"          # or "saml2": what the WS-Trust endpoints issue
    wstrust = ["1.3", "2005"]       # the username/password endpoints the MEX lists
    mex = true                      # false: user realm discovery gives no MEX URL
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.errors import ConfigurationError

__all__ = ["TOKEN_TYPES", "VERSIONS", "FederatedDomain", "parse_federated_domains"]

TOKEN_TYPES = ("saml1.1", "saml2")
VERSIONS = ("1.3", "2005")
_KEYS = {"domain", "token_type", "wstrust", "mex"}
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@dataclass(frozen=True)
class FederatedDomain:
    """A federated domain and how its (simulated) federation server behaves."""

    domain: str
    token_type: str = "saml1.1"
    wstrust: tuple[str, ...] = VERSIONS
    mex: bool = True

    def owns(self, username: str) -> bool:
        """Whether ``username`` (a UPN) belongs to this domain (case-insensitive)."""
        return username.rpartition("@")[2].lower() == self.domain.lower()


def _domain(table: Mapping[str, Any]) -> FederatedDomain:
    where = f"federated domain {table.get('domain', '?')!r}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)}")
    domain = table.get("domain")
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
        raise ConfigurationError(f"{where}: 'domain' must be a domain name")
    token_type = table.get("token_type", "saml1.1")
    if token_type not in TOKEN_TYPES:
        raise ConfigurationError(f"{where}: 'token_type' must be one of {', '.join(TOKEN_TYPES)}")
    versions = table.get("wstrust", list(VERSIONS))
    if not isinstance(versions, list) or not versions or not all(v in VERSIONS for v in versions):
        raise ConfigurationError(f"{where}: 'wstrust' must be a non-empty list of 1.3, 2005")
    mex = table.get("mex", True)
    if not isinstance(mex, bool):
        raise ConfigurationError(f"{where}: 'mex' must be true or false")
    return FederatedDomain(domain.lower(), token_type, tuple(dict.fromkeys(versions)), mex)


def parse_federated_domains(data: Mapping[str, Any]) -> tuple[FederatedDomain, ...]:
    """The ``[[federated_domains]]`` tables of a parsed configuration document.

    Raises:
        ConfigurationError: not an array of tables, unknown keys, bad values, a domain
            listed twice.
    """
    tables = data.get("federated_domains", [])
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise ConfigurationError("'federated_domains' must be an array of tables")
    domains = tuple(_domain(t) for t in tables)
    names = [d.domain for d in domains]
    if len(set(names)) != len(names):
        raise ConfigurationError("a federated domain is listed twice")
    return domains
