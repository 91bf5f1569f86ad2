"""What the federated suites share: a dev IdP with four federated domains (every WS-Trust
version and SAML version, one without a MEX document) and an MSAL-style ``http_client``
that records what a client sends.

MSAL asks user realm discovery at ``https://{host}/common/userrealm/...`` without the
authority's port; the recording client sends such port-less loopback URLs to the dev
IdP's port (the only rewrite it makes), so MSAL runs unpatched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from tokensmith.devidp import DEFAULT_CONFIG_TOML, parse_config
from tokensmith.devidp._toml import loads
from tokensmith.devidp.config import DevIdPConfig

PASSWORD = "Passw0rd!"
HEDY = "hedy@corp.contoso.example"  # built-in domain: WS-Trust 1.3 and 2005, SAML 1.1
ELLA = "ella@legacy.contoso.example"  # WS-Trust 2005 only, SAML 2.0
MAE = "mae@saml2.contoso.example"  # WS-Trust 1.3 only, SAML 2.0
ROSALIND = "rosalind@nomex.contoso.example"  # no MEX document; 2005, SAML 1.1
WRONG_PASSWORD_ERROR = (
    "WsTrust server returned error in RSTR: {'reason': 'ID3242: The security token could "
    "not be authenticated or authorized.', 'code': 'a:FailedAuthentication'}"
)
# user -> (WS-Trust path it must use, SAML grant type)
EXPECTED = {
    HEDY: ("/trust/13/usernamemixed", "urn:ietf:params:oauth:grant-type:saml1_1-bearer"),
    ELLA: ("/trust/2005/usernamemixed", "urn:ietf:params:oauth:grant-type:saml2-bearer"),
    MAE: ("/trust/13/usernamemixed", "urn:ietf:params:oauth:grant-type:saml2-bearer"),
    ROSALIND: ("/trust/2005/usernamemixed", "urn:ietf:params:oauth:grant-type:saml1_1-bearer"),
}

_EXTRA = """
[[federated_domains]]
domain = "legacy.contoso.example"
token_type = "saml2"
wstrust = ["2005"]

[[federated_domains]]
domain = "saml2.contoso.example"
token_type = "saml2"
wstrust = ["1.3"]

[[federated_domains]]
domain = "nomex.contoso.example"
wstrust = ["2005"]
mex = false
"""


def federated_config() -> DevIdPConfig:
    """The built-in configuration plus three federated domains and their users."""
    users = "".join(
        f'\n[[users]]\nusername = "{name}"\npassword = "{PASSWORD}"\n'
        'tenant = "contoso.onmicrosoft.com"\n'
        for name in (ELLA, MAE, ROSALIND)
    )
    return parse_config(loads(DEFAULT_CONFIG_TOML + _EXTRA + users))


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    data: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class RecordingClient:
    """An MSAL-style ``http_client`` (``get``/``post`` as ``requests`` has them) that
    records each request and trusts the dev IdP's CA."""

    netloc: str
    ca_path: Path
    sent: list[Sent] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def _url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.hostname == "127.0.0.1" and parts.port is None:
            return urlunsplit(parts._replace(netloc=self.netloc))
        return url

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.sent.append(Sent("GET", url, dict(kwargs.get("headers") or {}), None))
        return self.session.get(self._url(url), verify=str(self.ca_path), **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        data = kwargs.get("data")
        self.sent.append(Sent("POST", url, dict(kwargs.get("headers") or {}), data))
        return self.session.post(self._url(url), verify=str(self.ca_path), **kwargs)

    def close(self) -> None:
        self.session.close()

    def posts(self, fragment: str) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST" and fragment in s.url]
