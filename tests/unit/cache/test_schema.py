"""Key formats (reference §2.3 / §2.11), the extended cache key and endpoint parsing."""

from __future__ import annotations

import base64
import hashlib

import pytest
from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME

from tokensmith.cache.schema import (
    access_token_key,
    account_key,
    app_metadata_key,
    compute_ext_cache_key,
    id_token_key,
    make_key_makers,
    refresh_token_key,
    split_token_endpoint,
)
from tokensmith.errors import ConfigurationError

TARGET = "User.Read offline_access openid profile"


def test_access_token_key_matches_the_reference_example() -> None:
    key = access_token_key(
        home_account_id=HOME,
        environment=ENV,
        client_id=CLIENT_ID,
        realm="common",
        target=TARGET,
        secret="ignored",
        token_type="Bearer",
    )
    assert key == (
        "aaaa1111-2222-3333-4444-555566667777.bbbb0000-9999-8888-7777-666655554444"
        "-login.microsoftonline.com-accesstoken-11112222-aaaa-bbbb-cccc-ddddeeeeffff"
        "-common-user.read offline_access openid profile"
    )


def test_app_only_access_token_key_starts_with_a_dash() -> None:
    key = access_token_key(
        home_account_id=None,
        environment=ENV,
        client_id=CLIENT_ID,
        realm="Contoso",
        target="https://graph.microsoft.com/.default",
    )
    assert key == (
        "-login.microsoftonline.com-accesstoken-11112222-aaaa-bbbb-cccc-ddddeeeeffff"
        "-contoso-https://graph.microsoft.com/.default"
    )


def test_extended_access_token_key_uses_atext_and_appends_the_ext_key() -> None:
    key = access_token_key(
        home_account_id=None,
        environment=ENV,
        client_id="C",
        realm="t",
        target="s",
        ext_cache_key="AbC",
    )
    assert key == "-login.microsoftonline.com-atext-c-t-s-abc"


def test_refresh_token_key_has_an_empty_realm_slot_and_the_target() -> None:
    key = refresh_token_key(
        home_account_id=HOME, environment=ENV, client_id=CLIENT_ID, target=TARGET, realm="x"
    )
    assert key == (
        f"{HOME}-login.microsoftonline.com-refreshtoken-{CLIENT_ID}--"
        "user.read offline_access openid profile"
    )


def test_id_token_account_and_app_metadata_keys() -> None:
    assert id_token_key(
        home_account_id=HOME, environment=ENV, client_id=CLIENT_ID, realm="common"
    ) == (f"{HOME}-login.microsoftonline.com-idtoken-{CLIENT_ID}-common-")
    assert account_key(home_account_id=HOME, environment=ENV, realm="Common") == (
        f"{HOME}-login.microsoftonline.com-common"
    )
    # AppMetadata keys keep their case.
    assert app_metadata_key(environment="Login.X", client_id="AbC") == "appmetadata-Login.X-AbC"


def test_none_becomes_an_empty_segment() -> None:
    assert refresh_token_key() == "--refreshtoken---"
    assert account_key() == "--"
    assert app_metadata_key() == "appmetadata--"


def test_key_makers_are_fresh_per_call() -> None:
    first, second = make_key_makers(), make_key_makers()
    assert first == second and first is not second
    assert set(first) == {"AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"}


def _by_hand(netstring: str) -> str:
    digest = hashlib.sha256(netstring.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=").lower()


def test_ext_cache_key_known_vector() -> None:
    data = {
        "client_id": "ignored",
        "grant_type": "client_credentials",
        "scope": "s",
        "client_secret": "ignored",
        "fmi_path": "SomeFmiPath/Path",
        "zeta": "é",
        "empty": "",
        "none": None,
    }
    # Sorted non-standard, non-empty fields, UTF-8 byte lengths ("é" is 2 bytes).
    expected = _by_hand("8:fmi_path16:SomeFmiPath/Path4:zeta2:é")
    assert compute_ext_cache_key(data) == expected
    assert expected == expected.lower() and "=" not in expected


def test_ext_cache_key_is_empty_without_extra_fields() -> None:
    assert compute_ext_cache_key(None) == ""
    assert compute_ext_cache_key({}) == ""
    assert compute_ext_cache_key({"client_id": "c", "key_id": "k", "req_cnf": "x"}) == ""


def test_ext_cache_key_values_are_stringified() -> None:
    assert compute_ext_cache_key({"n": 5}) == _by_hand("1:n1:5")


def test_ext_cache_key_agrees_with_msal() -> None:
    from msal import token_cache

    samples = [
        {"fmi_path": "a/b"},
        {"fmi_path": "a/b", "client_claims": '{"x": 1}', "scope": "s", "client_id": "c"},
        {"fmi_pat": "hvalue"},
        {"ünï": "cödé", "n": 7, "empty": ""},
    ]
    for data in samples:
        assert compute_ext_cache_key(data) == token_cache._compute_ext_cache_key(data)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            ("login.microsoftonline.com", "common"),
        ),
        ("https://Login.Example:8443/Tenant/token", ("login.example", "Tenant")),
        ("https://fs.contoso.com/adfs/oauth2/token", ("fs.contoso.com", "adfs")),
        ("https://contoso.ciamlogin.com", ("contoso.ciamlogin.com", "contoso.onmicrosoft.com")),
    ],
)
def test_split_token_endpoint(url: str, expected: tuple[str, str]) -> None:
    assert split_token_endpoint(url) == expected


@pytest.mark.parametrize("url", ["ftp://x/y", "https://host", "https:///path", "not a url", 42])
def test_split_token_endpoint_refuses_bad_urls(url: object) -> None:
    with pytest.raises(ConfigurationError):
        split_token_endpoint(url)  # type: ignore[arg-type]
