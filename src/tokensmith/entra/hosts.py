"""Microsoft Entra hosts: national clouds, well-known hosts, B2C suffixes, alias groups.

Pure data plus a few predicates; no I/O. The alias groups are the ``metadata`` list
that Entra's instance discovery endpoint returns (api-version 1.1), kept here so that
alias look-ups for the public clouds need no network.

Sources: Microsoft Learn "National clouds" (authentication-national-cloud.md) and
MSAL Python 1.39's host lists, as recorded in the project's protocol notes.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations would
# be strings, and typing compiles each into a forward reference; the first compile()
# of a process sets up the AST types (~10 million instructions, every CLI process).

from typing import NamedTuple, TypeGuard

from tokensmith.errors import AuthorityError, ConfigurationError

__all__ = [
    "AZURE_GOV_DE",
    "AZURE_GOV_FR",
    "AZURE_GOV_SG",
    "AZURE_PUBLIC",
    "AZURE_US_GOVERNMENT",
    "BUILTIN_ALIAS_GROUPS",
    "CIAM_HOST_SUFFIX",
    "DEPRECATED_AZURE_CHINA",
    "LOOPBACK_HOSTS",
    "PUBLIC_CLOUD_HOSTS",
    "WELL_KNOWN_AUTHORITY_HOSTS",
    "WELL_KNOWN_B2C_HOSTS",
    "WORLD_WIDE",
    "AliasGroup",
    "check_endpoint_url",
    "instance_discovery_host",
    "is_b2c_host",
    "is_loopback_host",
    "is_region_name",
    "regional_host",
]

AZURE_PUBLIC = "login.microsoftonline.com"
AZURE_US_GOVERNMENT = "login.microsoftonline.us"
DEPRECATED_AZURE_CHINA = "login.chinacloudapi.cn"
AZURE_GOV_FR = "login.sovcloud-identity.fr"
AZURE_GOV_DE = "login.sovcloud-identity.de"
AZURE_GOV_SG = "login.sovcloud-identity.sg"
WORLD_WIDE = AZURE_PUBLIC
"""The host that answers instance discovery for hosts it does not know."""

WELL_KNOWN_AUTHORITY_HOSTS: frozenset[str] = frozenset(
    {
        AZURE_PUBLIC,
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        DEPRECATED_AZURE_CHINA,
        "login.partner.microsoftonline.cn",
        "login.microsoftonline.de",
        "login-us.microsoftonline.com",
        AZURE_US_GOVERNMENT,
        "login.usgovcloudapi.net",
        AZURE_GOV_FR,
        AZURE_GOV_DE,
        AZURE_GOV_SG,
    }
)
"""Hosts trusted without instance discovery."""

WELL_KNOWN_B2C_HOSTS: tuple[str, ...] = (
    "b2clogin.com",
    "b2clogin.cn",
    "b2clogin.us",
    "b2clogin.de",
    "ciamlogin.com",
)
"""Domain suffixes whose sub-domains are B2C (or CIAM) authorities."""

CIAM_HOST_SUFFIX = ".ciamlogin.com"

PUBLIC_CLOUD_HOSTS: frozenset[str] = frozenset(
    {AZURE_PUBLIC, "login.microsoft.com", "login.windows.net", "sts.windows.net"}
)
"""Hosts whose regional endpoint is ``{region}.login.microsoft.com``."""

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "::1", "localhost"})
"""Hosts that may be reached over plain http (local development and tests)."""

_LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class AliasGroup(NamedTuple):
    """Hosts that are one cloud: tokens issued by one are valid for all.

    Attributes:
        preferred_network: the host to send requests to.
        preferred_cache: the host MSAL JS stores in the cache ``environment``.
        aliases: every host of the group, ``preferred_network`` included.
    """

    preferred_network: str
    preferred_cache: str
    aliases: tuple[str, ...]


BUILTIN_ALIAS_GROUPS: tuple[AliasGroup, ...] = (
    AliasGroup(
        AZURE_PUBLIC,
        "login.windows.net",
        (AZURE_PUBLIC, "login.windows.net", "login.microsoft.com", "sts.windows.net"),
    ),
    AliasGroup(
        "login.partner.microsoftonline.cn",
        "login.partner.microsoftonline.cn",
        ("login.partner.microsoftonline.cn", DEPRECATED_AZURE_CHINA),
    ),
    AliasGroup(
        "login.microsoftonline.de", "login.microsoftonline.de", ("login.microsoftonline.de",)
    ),
    AliasGroup(
        AZURE_US_GOVERNMENT, AZURE_US_GOVERNMENT, (AZURE_US_GOVERNMENT, "login.usgovcloudapi.net")
    ),
    AliasGroup(
        "login-us.microsoftonline.com",
        "login-us.microsoftonline.com",
        ("login-us.microsoftonline.com",),
    ),
)
"""The ``metadata`` list of Entra instance discovery, as data."""


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` (a host name without port or brackets) is loopback."""
    return host.lower() in LOOPBACK_HOSTS


def is_b2c_host(host: str) -> bool:
    """Tell whether ``host`` is a sub-domain of a well-known B2C/CIAM suffix."""
    host = host.lower()
    return any(host.endswith("." + suffix) for suffix in WELL_KNOWN_B2C_HOSTS)


def instance_discovery_host(host: str) -> str:
    """Return the host that answers instance discovery for ``host``.

    A well-known host answers for itself; any other host is looked up at
    :data:`WORLD_WIDE`.
    """
    host = host.lower()
    return host if host in WELL_KNOWN_AUTHORITY_HOSTS else WORLD_WIDE


def is_region_name(value: object) -> TypeGuard[str]:
    """True for a region name: a lower-case DNS label (letters, digits and inner
    hyphens, at most 63 characters) that starts with a letter.

    (Compared character by character: the equivalent regular expression takes over a
    millisecond to compile, in every process that parses an authority.)
    """
    return (
        isinstance(value, str)
        and 0 < len(value) <= 63
        and "a" <= value[0] <= "z"
        and value[-1] != "-"
        and _LABEL_CHARACTERS.issuperset(value)
    )


def regional_host(region: str, host: str) -> str:
    """Return the regional (ESTS-R) host for ``host`` in ``region``.

    The public-cloud hosts map to ``{region}.login.microsoft.com``; any other host
    to ``{region}.{host}``.

    Raises:
        ConfigurationError: ``region`` is not a lower-case DNS label.
    """
    if not is_region_name(region):
        raise ConfigurationError(
            f"Invalid region {region!r}. It must be a lowercase DNS label that starts with a "
            "letter, contains only letters, digits and internal hyphens, and is at most 63 "
            "characters."
        )
    host = host.lower()
    if host in PUBLIC_CLOUD_HOSTS:
        return f"{region}.login.microsoft.com"
    return f"{region}.{host}"


def check_endpoint_url(value: object, what: str) -> str:
    """Return ``value`` if it is an absolute https URL (http only on loopback hosts).

    Args:
        value: the candidate URL, typically read from a JSON document.
        what: the name used in the error message, e.g. ``"token_endpoint"``.

    Raises:
        AuthorityError: ``value`` is missing, not a string, or not such a URL.
    """
    if not isinstance(value, str) or not value:
        kind = "missing" if value is None else f"not a non-empty string ({type(value).__name__})"
        raise AuthorityError(f"{what} is {kind}")
    from urllib.parse import urlsplit  # not at import: a cache hit never checks an endpoint

    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        raise AuthorityError(f"{what} is not a valid URL: {value!r}") from exc
    if not host:
        raise AuthorityError(f"{what} is not an absolute URL: {value!r}")
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback_host(host)):
        return value
    raise AuthorityError(f"{what} must use https (http is allowed only on loopback): {value!r}")
