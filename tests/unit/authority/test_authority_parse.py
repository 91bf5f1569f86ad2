"""Parsing every authority form of the protocol notes (§1.1, §1.2), and the rejections."""

from __future__ import annotations

import pytest

from tokensmith.authority import (
    AZURE_PUBLIC,
    AuthorityBuilder,
    AuthorityKind,
    parse_authority,
)
from tokensmith.errors import AuthorityError

GUID = "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
WK = "/v2.0/.well-known/openid-configuration"

# (authority, kind, instance, tenant, canonical_url, discovery_url)
FORMS = [
    (
        "https://login.microsoftonline.com/common",
        AuthorityKind.AAD,
        "login.microsoftonline.com",
        "common",
        "https://login.microsoftonline.com/common",
        "https://login.microsoftonline.com/common" + WK,
    ),
    (
        "https://login.microsoftonline.com/organizations/",
        AuthorityKind.AAD,
        "login.microsoftonline.com",
        "organizations",
        "https://login.microsoftonline.com/organizations",
        "https://login.microsoftonline.com/organizations" + WK,
    ),
    (
        "https://login.microsoftonline.com/consumers",
        AuthorityKind.AAD,
        "login.microsoftonline.com",
        "consumers",
        "https://login.microsoftonline.com/consumers",
        "https://login.microsoftonline.com/consumers" + WK,
    ),
    (
        f"https://login.microsoftonline.com/{GUID}",
        AuthorityKind.AAD,
        "login.microsoftonline.com",
        GUID,
        f"https://login.microsoftonline.com/{GUID}",
        f"https://login.microsoftonline.com/{GUID}" + WK,
    ),
    (
        "https://Login.MicrosoftOnline.com/Contoso.onmicrosoft.com",
        AuthorityKind.AAD,
        "login.microsoftonline.com",
        "Contoso.onmicrosoft.com",
        "https://login.microsoftonline.com/Contoso.onmicrosoft.com",
        "https://login.microsoftonline.com/Contoso.onmicrosoft.com" + WK,
    ),
    (
        "https://login.microsoftonline.us/contoso.com",
        AuthorityKind.AAD,
        "login.microsoftonline.us",
        "contoso.com",
        "https://login.microsoftonline.us/contoso.com",
        "https://login.microsoftonline.us/contoso.com" + WK,
    ),
    (
        "https://login.partner.microsoftonline.cn/common",
        AuthorityKind.AAD,
        "login.partner.microsoftonline.cn",
        "common",
        "https://login.partner.microsoftonline.cn/common",
        "https://login.partner.microsoftonline.cn/common" + WK,
    ),
    (
        "https://login.chinacloudapi.cn/organizations",
        AuthorityKind.AAD,
        "login.chinacloudapi.cn",
        "organizations",
        "https://login.chinacloudapi.cn/organizations",
        "https://login.chinacloudapi.cn/organizations" + WK,
    ),
    (
        f"https://login.sovcloud-identity.fr/{GUID}",
        AuthorityKind.AAD,
        "login.sovcloud-identity.fr",
        GUID,
        f"https://login.sovcloud-identity.fr/{GUID}",
        f"https://login.sovcloud-identity.fr/{GUID}" + WK,
    ),
    (
        "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_susi",
        AuthorityKind.B2C,
        "fabrikamb2c.b2clogin.com",
        "fabrikamb2c.onmicrosoft.com",
        "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_susi",
        "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_susi" + WK,
    ),
    (
        "https://fabrikamb2c.b2clogin.com/tfp/fabrikamb2c.onmicrosoft.com/B2C_1A_signin/",
        AuthorityKind.B2C,
        "fabrikamb2c.b2clogin.com",
        "fabrikamb2c.onmicrosoft.com",
        "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1A_signin",
        "https://fabrikamb2c.b2clogin.com/tfp/fabrikamb2c.onmicrosoft.com/B2C_1A_signin" + WK,
    ),
    (
        "https://id.fabrikam.example/fabrikam.onmicrosoft.com/b2c_1_susi",
        AuthorityKind.B2C,
        "id.fabrikam.example",
        "fabrikam.onmicrosoft.com",
        "https://id.fabrikam.example/fabrikam.onmicrosoft.com/b2c_1_susi",
        "https://id.fabrikam.example/fabrikam.onmicrosoft.com/b2c_1_susi" + WK,
    ),
    (
        "https://fabrikamid.ciamlogin.com/",
        AuthorityKind.CIAM,
        "fabrikamid.ciamlogin.com",
        "fabrikamid.onmicrosoft.com",
        "https://fabrikamid.ciamlogin.com/fabrikamid.onmicrosoft.com",
        "https://fabrikamid.ciamlogin.com/fabrikamid.onmicrosoft.com" + WK,
    ),
    (
        "https://fabrikamid.ciamlogin.com",
        AuthorityKind.CIAM,
        "fabrikamid.ciamlogin.com",
        "fabrikamid.onmicrosoft.com",
        "https://fabrikamid.ciamlogin.com/fabrikamid.onmicrosoft.com",
        "https://fabrikamid.ciamlogin.com/fabrikamid.onmicrosoft.com" + WK,
    ),
    (
        f"https://fabrikamid.ciamlogin.com/{GUID}",
        AuthorityKind.CIAM,
        "fabrikamid.ciamlogin.com",
        GUID,
        f"https://fabrikamid.ciamlogin.com/{GUID}",
        f"https://fabrikamid.ciamlogin.com/{GUID}" + WK,
    ),
    (
        "https://adfs.fabrikam.example/adfs/",
        AuthorityKind.ADFS,
        "adfs.fabrikam.example",
        "adfs",
        "https://adfs.fabrikam.example/adfs",
        "https://adfs.fabrikam.example/adfs/.well-known/openid-configuration",
    ),
    (
        f"https://dsts.fabrikam.example/dstsv2/{GUID}",
        AuthorityKind.DSTS,
        "dsts.fabrikam.example",
        GUID,
        f"https://dsts.fabrikam.example/dstsv2/{GUID}",
        f"https://dsts.fabrikam.example/dstsv2/{GUID}/.well-known/openid-configuration",
    ),
    (
        "https://login.microsoftonline.com:444/common?dc=ESTS-PUB-WUS2",
        AuthorityKind.AAD,
        "login.microsoftonline.com:444",
        "common",
        "https://login.microsoftonline.com:444/common",
        "https://login.microsoftonline.com:444/common" + WK + "?dc=ESTS-PUB-WUS2",
    ),
    (
        "http://127.0.0.1:8400/devtenant",
        AuthorityKind.AAD,
        "127.0.0.1:8400",
        "devtenant",
        "http://127.0.0.1:8400/devtenant",
        "http://127.0.0.1:8400/devtenant" + WK,
    ),
    (
        "http://LOCALHOST/common",
        AuthorityKind.AAD,
        "localhost",
        "common",
        "http://localhost/common",
        "http://localhost/common" + WK,
    ),
    (
        "http://[::1]:8443/common",
        AuthorityKind.AAD,
        "[::1]:8443",
        "common",
        "http://[::1]:8443/common",
        "http://[::1]:8443/common" + WK,
    ),
]


@pytest.mark.parametrize(
    ("authority", "kind", "instance", "tenant", "canonical", "discovery"),
    FORMS,
    ids=[row[0] for row in FORMS],
)
def test_every_form_parses(
    authority: str,
    kind: AuthorityKind,
    instance: str,
    tenant: str,
    canonical: str,
    discovery: str,
) -> None:
    spec = parse_authority(authority)
    assert spec.authority_url == authority
    assert spec.kind is kind
    assert spec.instance == instance
    assert spec.tenant == tenant
    assert spec.canonical_url == canonical
    assert spec.discovery_url == discovery


def test_default_is_common_on_the_public_cloud() -> None:
    for given in (None, ""):
        spec = parse_authority(given)
        assert spec.authority_url == "https://login.microsoftonline.com/common/"
        assert spec.kind is AuthorityKind.AAD
        assert spec.tenant == "common"
        assert spec.discovery_url == "https://login.microsoftonline.com/common" + WK
        assert not spec.needs_instance_discovery


def test_flags_follow_msal() -> None:
    adfs = parse_authority("https://adfs.fabrikam.example/ADFS")
    assert adfs.is_adfs and not adfs.is_b2c and adfs.is_known_to_developer
    b2c = parse_authority("https://t.b2clogin.com/t.onmicrosoft.com/B2C_1_susi")
    assert b2c.is_b2c and not b2c.is_adfs and b2c.policy == "B2C_1_susi"
    ciam = parse_authority("https://t.ciamlogin.com/adfs")
    assert ciam.kind is AuthorityKind.CIAM and not ciam.is_adfs and ciam.is_b2c
    aad = parse_authority(f"https://login.microsoftonline.com/{GUID}")
    assert not (aad.is_adfs or aad.is_b2c or aad.is_known_to_developer)
    assert aad.policy is None and aad.is_well_known and not aad.is_oidc


def test_oidc_authority() -> None:
    spec = parse_authority(oidc_authority="https://idp.example/realms/dev/")
    assert spec.kind is AuthorityKind.OIDC
    assert spec.is_oidc and spec.is_known_to_developer and spec.is_b2c
    assert spec.tenant == "realms"
    assert spec.canonical_url == "https://idp.example/realms/dev"
    assert spec.discovery_url == "https://idp.example/realms/dev/.well-known/openid-configuration"
    assert not spec.needs_instance_discovery and spec.instance_discovery_endpoint is None


def test_root_hosted_oidc_provider_on_loopback() -> None:
    spec = parse_authority(oidc_authority="http://127.0.0.1:3000")
    assert spec.tenant == ""
    assert spec.discovery_url == "http://127.0.0.1:3000/.well-known/openid-configuration"


def test_oidc_adfs_convention() -> None:
    assert parse_authority(oidc_authority="https://sts.fabrikam.example/adfs").is_adfs


def test_authority_builder() -> None:
    builder = AuthorityBuilder(AZURE_PUBLIC + "/", "/contoso.onmicrosoft.com/")
    assert str(builder) == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    assert builder == AuthorityBuilder(AZURE_PUBLIC, "contoso.onmicrosoft.com")
    assert "contoso" in repr(builder)
    spec = parse_authority(builder)
    assert spec.tenant == "contoso.onmicrosoft.com"
    assert spec.authority_url == str(builder)
    with pytest.raises(AuthorityError):
        AuthorityBuilder(AZURE_PUBLIC, None)  # type: ignore[arg-type]


class TestInstanceDiscoveryPlan:
    UNKNOWN = "https://login.fabrikam.example/common"

    def test_unknown_host_needs_it_at_the_world_wide_host(self) -> None:
        spec = parse_authority(self.UNKNOWN)
        assert spec.needs_instance_discovery
        assert spec.instance_discovery_endpoint == (
            "https://login.microsoftonline.com/common/discovery/instance"
        )

    def test_well_known_host_answers_for_itself(self) -> None:
        spec = parse_authority("https://login.microsoftonline.us/common")
        assert not spec.needs_instance_discovery
        assert spec.instance_discovery_endpoint == (
            "https://login.microsoftonline.us/common/discovery/instance"
        )

    def test_validate_authority_false_skips_it(self) -> None:
        spec = parse_authority(self.UNKNOWN, validate_authority=False)
        assert not spec.needs_instance_discovery and spec.is_known_to_developer

    def test_instance_discovery_false_turns_it_off(self) -> None:
        spec = parse_authority(self.UNKNOWN, instance_discovery=False)
        assert not spec.needs_instance_discovery
        assert spec.instance_discovery_endpoint is None
        assert not spec.is_known_to_developer

    @pytest.mark.parametrize(
        "known",
        [
            ["login.fabrikam.example"],
            ("LOGIN.Fabrikam.example",),
            {"https://login.fabrikam.example/x"},
        ],
    )
    def test_known_authorities_skip_it(self, known: object) -> None:
        spec = parse_authority(self.UNKNOWN, known_authorities=known)  # type: ignore[arg-type]
        assert not spec.needs_instance_discovery and spec.is_known_to_developer

    def test_known_authorities_with_another_port_do_not_match(self) -> None:
        spec = parse_authority(
            "https://login.fabrikam.example:8443/t",
            known_authorities=["login.fabrikam.example:9443"],
        )
        assert spec.needs_instance_discovery

    def test_custom_endpoint(self) -> None:
        custom = "https://discovery.fabrikam.example/common/discovery/instance"
        spec = parse_authority(self.UNKNOWN, instance_discovery=custom)
        assert spec.needs_instance_discovery
        assert spec.instance_discovery_endpoint == custom

    def test_b2c_and_adfs_never_need_it(self) -> None:
        for url in (
            "https://t.b2clogin.com/t.onmicrosoft.com/B2C_1_x",
            "https://t.ciamlogin.com/",
            "https://adfs.fabrikam.example/adfs",
            "https://custom.fabrikam.example/t/b2c_1_x",
        ):
            assert not parse_authority(url).needs_instance_discovery, url

    def test_loopback_skips_entra_but_not_a_custom_endpoint(self) -> None:
        assert not parse_authority("http://127.0.0.1:8400/t").needs_instance_discovery
        custom = "http://127.0.0.1:8400/common/discovery/instance"
        spec = parse_authority("http://127.0.0.1:8400/t", instance_discovery=custom)
        assert spec.needs_instance_discovery and spec.instance_discovery_endpoint == custom


REJECTED = [
    ("login.microsoftonline.com/common", "absolute URL"),
    ("//login.microsoftonline.com/common", "absolute URL"),
    ("http://login.microsoftonline.com/common", "https"),
    ("http://127.0.0.2/common", "https"),
    ("ftp://login.microsoftonline.com/common", "https"),
    ("https://login.microsoftonline.com", "path segment"),
    ("https://login.microsoftonline.com/", "path segment"),
    ("https://ciamlogin.com/", "path segment"),
    ("https:///common", "host"),
    ("https://login.microsoftonline.com//common", "empty path segment"),
    ("https://login.microsoftonline.com/com mon", "whitespace"),
    ("https://login.microsoftonline.com/common\n", "whitespace"),
    ("https://login.microsoftonline.com/common\x7f", "control"),
    ("https://login.microsoftonline.com/common\x00", "control"),
    ("https://login.microsoftonline.com/common\x1f", "control"),
    ("https://login.microsoftonline.com/com\u00a0mon", "whitespace"),  # non-ASCII
    ("https://login.microsoftonline.com/common\u2028", "whitespace"),
    ("https://l\u00f6gin.example/com\u3000mon", "whitespace"),
    ("https://[::1/common", "not a valid URL"),
    ("https://login.microsoftonline.com:99999/common", "not a valid URL"),
    ("https://login.microsoftonline.com/common#frag", "fragment"),
    ("not a url at all", "whitespace"),
    ("garbage", "absolute URL"),
]


@pytest.mark.parametrize(("authority", "fragment"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejections(authority: str, fragment: str) -> None:
    with pytest.raises(AuthorityError, match=fragment):
        parse_authority(authority)


@pytest.mark.parametrize(
    "authority",
    [
        "https://alice:s3cret@login.microsoftonline.com/common",
        "https://alice:s3cret@[::1/common",
        "https://alice:s3cret @login.microsoftonline.com/common",
        "http://alice:s3cret@login.microsoftonline.com/common",
    ],
)
def test_user_information_is_rejected_without_echoing_it(authority: str) -> None:
    with pytest.raises(AuthorityError) as info:
        parse_authority(authority)
    assert "s3cret" not in str(info.value)


def test_both_authority_and_oidc_authority() -> None:
    with pytest.raises(AuthorityError, match="both"):
        parse_authority(
            "https://login.microsoftonline.com/common", oidc_authority="https://idp.example"
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"authority": 42},
        {"authority": b"https://login.microsoftonline.com/common"},
        {"oidc_authority": ["https://idp.example"]},
        {"oidc_authority": "http://idp.example/realm"},
        {"instance_discovery": 3.5},
        {"instance_discovery": ""},
        {"instance_discovery": "http://discovery.example/instance"},
        {"known_authorities": "login.fabrikam.example"},
        {"known_authorities": [None]},
    ],
)
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(AuthorityError):
        parse_authority(**kwargs)  # type: ignore[arg-type]


def test_authority_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_authority("nope")


def test_spec_is_frozen() -> None:
    spec = parse_authority()
    with pytest.raises(AttributeError):
        spec.tenant = "x"  # type: ignore[misc]
