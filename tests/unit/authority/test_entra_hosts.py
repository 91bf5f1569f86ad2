"""National clouds, well-known hosts, regional hosts and built-in alias groups."""

from __future__ import annotations

import pytest

import tokensmith.authority as authority_pkg
from tokensmith.entra import hosts
from tokensmith.entra.hosts import check_endpoint_url, instance_discovery_host, regional_host
from tokensmith.entra.instance_discovery import aliases_for
from tokensmith.errors import AuthorityError, ConfigurationError


def test_msal_names_importable_from_the_authority_package() -> None:
    assert authority_pkg.AZURE_PUBLIC == "login.microsoftonline.com"
    assert authority_pkg.AZURE_US_GOVERNMENT == "login.microsoftonline.us"
    assert authority_pkg.DEPRECATED_AZURE_CHINA == "login.chinacloudapi.cn"
    assert authority_pkg.AZURE_GOV_FR == "login.sovcloud-identity.fr"
    assert authority_pkg.AZURE_GOV_DE == "login.sovcloud-identity.de"
    assert authority_pkg.AZURE_GOV_SG == "login.sovcloud-identity.sg"
    for name in authority_pkg.__all__:
        assert getattr(authority_pkg, name) is not None


def test_well_known_hosts_match_msal() -> None:
    from msal import authority as msal_authority

    assert msal_authority.WELL_KNOWN_AUTHORITY_HOSTS == hosts.WELL_KNOWN_AUTHORITY_HOSTS
    assert tuple(msal_authority.WELL_KNOWN_B2C_HOSTS) == hosts.WELL_KNOWN_B2C_HOSTS


def test_every_builtin_alias_is_well_known() -> None:
    for group in hosts.BUILTIN_ALIAS_GROUPS:
        assert group.preferred_network in group.aliases
        assert set(group.aliases) <= hosts.WELL_KNOWN_AUTHORITY_HOSTS


@pytest.mark.parametrize(
    ("region", "host", "expected"),
    [
        ("westus2", "login.microsoftonline.com", "westus2.login.microsoft.com"),
        ("eastus", "login.windows.net", "eastus.login.microsoft.com"),
        ("eastus", "sts.windows.net", "eastus.login.microsoft.com"),
        ("eastus", "LOGIN.MICROSOFT.COM", "eastus.login.microsoft.com"),
        ("usgovvirginia", "login.microsoftonline.us", "usgovvirginia.login.microsoftonline.us"),
        ("chinanorth", "login.chinacloudapi.cn", "chinanorth.login.chinacloudapi.cn"),
    ],
)
def test_regional_host(region: str, host: str, expected: str) -> None:
    assert regional_host(region, host) == expected


@pytest.mark.parametrize("region", ["", "WestUS", "west us", "-west", "west-", "a" * 64, "x.y"])
def test_regional_host_rejects_bad_regions(region: str) -> None:
    with pytest.raises(ConfigurationError, match="lowercase DNS label"):
        regional_host(region, "login.microsoftonline.com")


def test_instance_discovery_host() -> None:
    assert instance_discovery_host("login.microsoftonline.us") == "login.microsoftonline.us"
    assert instance_discovery_host("Login.Windows.Net") == "login.windows.net"
    assert instance_discovery_host("login.fabrikam.example") == "login.microsoftonline.com"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (
            "login.microsoftonline.com",
            {"login.windows.net", "login.microsoft.com", "sts.windows.net"},
        ),
        (
            "STS.windows.net",
            {"login.windows.net", "login.microsoft.com", "login.microsoftonline.com"},
        ),
        ("login.chinacloudapi.cn", {"login.partner.microsoftonline.cn"}),
        ("login.usgovcloudapi.net", {"login.microsoftonline.us"}),
        ("login.microsoftonline.de", set()),
        ("login.fabrikam.example", set()),
    ],
)
def test_builtin_aliases(host: str, expected: set[str]) -> None:
    found = aliases_for(host)
    assert set(found) == expected
    assert len(found) == len(expected)


def test_given_groups_come_before_builtin_ones() -> None:
    custom = [hosts.AliasGroup("a.example", "b.example", ("a.example", "b.example"))]
    assert aliases_for("A.example", custom) == ("b.example",)
    assert "login.windows.net" in aliases_for("login.microsoftonline.com", custom)


@pytest.mark.parametrize(
    "url",
    [
        "https://login.microsoftonline.com/t/oauth2/v2.0/token",
        "http://127.0.0.1:8400/t/token",
        "http://localhost/token",
        "http://[::1]:9000/token",
    ],
)
def test_endpoint_urls_accepted(url: str) -> None:
    assert check_endpoint_url(url, "token_endpoint") == url


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing"),
        (42, "not a non-empty string"),
        ("", "not a non-empty string"),
        ("/t/oauth2/token", "not an absolute URL"),
        ("http://login.fabrikam.example/token", "must use https"),
        ("ftp://127.0.0.1/token", "must use https"),
        ("https://[::1/token", "not a valid URL"),
    ],
)
def test_endpoint_urls_rejected(value: object, message: str) -> None:
    with pytest.raises(AuthorityError, match=message):
        check_endpoint_url(value, "token_endpoint")
