"""Parsing agrees with MSAL Python 1.39 itself (run against a recording fake client).

MSAL's ``Authority`` fetches discovery in its constructor, so the URL it fetches is the
discovery URL it computed. Known, deliberate differences are not in this table: a
trailing slash (MSAL requests ``.../common//v2.0/...``), ports in ``instance`` (MSAL
drops them) and the B2C ``/tfp/`` tenant (MSAL reports ``tfp``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from msal import authority as msal_authority

from tokensmith.authority import parse_authority

DOCUMENT = {
    "authorization_endpoint": "https://h.example/t/oauth2/v2.0/authorize",
    "token_endpoint": "https://h.example/t/oauth2/v2.0/token",
    "issuer": "https://h.example/t/v2.0",
}


class _Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self.status_code = 200
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        return None


class _RecordingClient:
    def __init__(self) -> None:
        self.gets: list[tuple[str, dict[str, str] | None]] = []

    def get(self, url: str, params: dict[str, str] | None = None, **_: Any) -> _Response:
        self.gets.append((url, params))
        if "discovery/instance" in url:
            return _Response({"tenant_discovery_endpoint": "https://h.example/t" + WK})
        return _Response(DOCUMENT)

    def post(self, *_: Any, **__: Any) -> _Response:
        raise AssertionError("no POST expected")

    def close(self) -> None:
        return None


WK = "/v2.0/.well-known/openid-configuration"


def _lower_host(url: str) -> str:
    """Host names are case-insensitive; we lower-case them, MSAL keeps them as given."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.lower()))


AUTHORITIES = [
    "https://login.microsoftonline.com/common",
    "https://login.microsoftonline.com/organizations",
    "https://login.microsoftonline.com/7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f",
    "https://LOGIN.microsoftonline.com/Contoso.onmicrosoft.com",
    "https://login.microsoftonline.us/contoso.com",
    "https://login.chinacloudapi.cn/common",
    "https://login.sovcloud-identity.sg/common",
    "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_susi",
    "https://fabrikamb2c.b2clogin.cn/fabrikamb2c.onmicrosoft.com/B2C_1A_x",
    "https://custom.fabrikam.example/fabrikam.onmicrosoft.com/b2c_1_susi",
    "https://fabrikamid.ciamlogin.com",
    "https://fabrikamid.ciamlogin.com/fabrikamid.onmicrosoft.com",
    "https://adfs.fabrikam.example/adfs",
    "https://adfs.fabrikam.example/ADFS",
    "https://login.microsoftonline.com/common?dc=ESTS-PUB",
    "https://login.fabrikam.example/common",
    "https://login.fabrikam.example/7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f",
]


@pytest.mark.parametrize("authority", AUTHORITIES)
@pytest.mark.parametrize("validate", [True, False])
def test_same_requests_and_flags_as_msal(authority: str, validate: bool) -> None:
    client = _RecordingClient()
    theirs = msal_authority.Authority(authority, client, validate_authority=validate)
    ours = parse_authority(authority, validate_authority=validate)

    instance_calls = [g for g in client.gets if "discovery/instance" in g[0]]
    assert ours.needs_instance_discovery == bool(instance_calls)
    if instance_calls:
        url, params = instance_calls[0]
        assert url == ours.instance_discovery_endpoint
        assert params is not None
        assert params["api-version"] == "1.0"
        expected = f"https://{ours.instance}/{ours.tenant}/oauth2/v2.0/authorize"
        assert params["authorization_endpoint"] == expected
    else:
        assert [(_lower_host(u), p) for u, p in client.gets] == [(ours.discovery_url, None)]
    assert ours.instance == theirs.instance
    assert ours.is_adfs == theirs.is_adfs
    assert ours.is_b2c == theirs._is_b2c
    assert ours.is_known_to_developer == theirs._is_known_to_developer


@pytest.mark.parametrize(
    "authority",
    [
        "http://login.microsoftonline.com/common",
        "https://login.microsoftonline.com",
        "login.microsoftonline.com/common",
    ],
)
def test_both_reject(authority: str) -> None:
    with pytest.raises(ValueError):
        msal_authority.Authority(authority, _RecordingClient())
    with pytest.raises(ValueError):
        parse_authority(authority)
