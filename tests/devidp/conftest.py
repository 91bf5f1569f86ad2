"""Fixtures of the dev IdP suite: one dev identity provider per session (built-in
configuration, device polling every second) and the client libraries under test,
MSAL Python 1.39, tokensmith and tokensmith.aio (behind a blocking proxy,
tests/_aio.py), behind one small factory.

Every test collected under tests/devidp is marked ``devidp``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal
import pytest
from tests._aio import blocking_app

import tokensmith
import tokensmith.aio
from tokensmith.devidp import DEFAULT_CONFIG_TOML, DevIdP, parse_config
from tokensmith.devidp._toml import loads

_HERE = Path(__file__).resolve().parent

# The built-in configuration's apps and users (see tokensmith.devidp.defaults).
CONTOSO = "8d2a1f3e-6c4b-4a59-9e7d-2b1c0a9f8e7d"
FABRIKAM = "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716"
DESKTOP = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
DAEMON = "9b1e4d7a-5c3f-4e2b-8a6d-7f0c2b9e4a15"
DAEMON_SECRET = "dev-secret-not-for-production"
FAMILY_ONE = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a51"
FAMILY_TWO = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a52"
API_A = "a0a0a0a0-1b2c-4d3e-8f4a-5b6c7d8e9f01"
API_A_SECRET = "api-a-secret"
PASSWORD = "Passw0rd!"
ADA = "ada@contoso.onmicrosoft.com"
GRACE = "grace@contoso.onmicrosoft.com"  # MFA required
ALAN = "alan@contoso.onmicrosoft.com"  # consent required
API_A_SCOPE = "api://tokensmith-api-a/access_as_user"
API_B_SCOPE = "api://tokensmith-api-b/Data.Read"
_ROPC_DEPRECATION = (
    "This API has been deprecated for public client flows",  # MSAL
    "The username/password flow is deprecated",  # tokensmith
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.devidp)
            for message in _ROPC_DEPRECATION:  # the suite uses ROPC as a quick sign-in
                item.add_marker(pytest.mark.filterwarnings(f"ignore:{message}:DeprecationWarning"))


@pytest.fixture(scope="session")
def idp() -> Iterator[DevIdP]:
    """The running dev IdP, with device codes polled every second."""
    text = DEFAULT_CONFIG_TOML.replace("device_code_interval = 5", "device_code_interval = 1")
    with DevIdP(parse_config(loads(text))) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(idp: DevIdP) -> Iterator[None]:
    yield
    idp.faults.clear()
    idp.device_code_auto_complete_user = ""


@dataclass
class Library:
    """Builds applications of one client library, configured for the dev IdP, and
    closes them at the end of the test."""

    name: str
    idp: DevIdP
    _opened: list[Any] = field(default_factory=list)

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"verify": str(self.idp.ca_path)}
        if self.name == "msal":
            options["instance_discovery"] = False  # the dev IdP is not known to Microsoft
        return options

    def _build(self, class_name: str, *args: Any, **kwargs: Any) -> Any:
        if self.name == "tokensmith.aio":  # its own loop and httpx.AsyncClient
            app = blocking_app(getattr(tokensmith.aio, class_name), *args, **kwargs)
        else:
            module: Any = msal if self.name == "msal" else tokensmith
            app = getattr(module, class_name)(*args, **kwargs)
        self._opened.append(app)
        return app

    def public(self, client_id: str, tenant: str = "organizations", **kwargs: Any) -> Any:
        return self._build(
            "PublicClientApplication",
            client_id,
            authority=self.idp.authority(tenant),
            **self._options(),
            **kwargs,
        )

    def confidential(
        self, client_id: str, credential: Any, tenant: str = CONTOSO, **kwargs: Any
    ) -> Any:
        return self._build(
            "ConfidentialClientApplication",
            client_id,
            client_credential=credential,
            authority=self.idp.authority(tenant),
            **self._options(),
            **kwargs,
        )

    def close(self) -> None:
        for app in self._opened:
            if self.name == "msal":
                app.http_client.close()
            else:
                app.close()


@pytest.fixture(params=["msal", "tokensmith", "tokensmith.aio"])
def lib(
    request: pytest.FixtureRequest, idp: DevIdP, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Library]:
    """MSAL Python 1.39, tokensmith and tokensmith.aio (blocking proxy), in turn.

    MSAL sets ``verify`` on a ``requests.Session``, which ``requests`` overrides with
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` when those are set: point them at the
    dev IdP's CA, as ``tokensmith dev-idp`` advises.
    """
    if request.param == "msal":
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(idp.ca_path))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    library = Library(request.param, idp)
    yield library
    library.close()
